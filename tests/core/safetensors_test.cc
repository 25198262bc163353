#include "libs/core/safetensors.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/tensor_codec.h"
#include "nlohmann/json.hpp"

namespace vlarft::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "safetensors_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string PathFor(const std::string& name) const { return (dir_ / name).string(); }

  std::vector<std::string> DirectoryListing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
    return names;
  }

  // Writes a file by hand: 8-byte little-endian length, header text, data bytes.
  std::string WriteRaw(const std::string& name, const std::string& header, const std::string& data,
                       std::optional<uint64_t> declared_length = std::nullopt) const {
    const std::string path = PathFor(name);
    const uint64_t length = declared_length.value_or(header.size());
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
    bytes += header;
    bytes += data;
    WriteBytes(path, bytes);
    return path;
  }

  static void WriteBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Opens a hand-written file that must be rejected; returns the error.
  absl::Status OpenError(const std::string& header, const std::string& data) const {
    const absl::StatusOr<SafetensorsFile> file =
        SafetensorsFile::Open(WriteRaw("bad.safetensors", header, data));
    EXPECT_FALSE(file.ok()) << "header accepted: " << header;
    return file.status();
  }

  fs::path dir_;
};

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// ---- round trips ------------------------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTripsAllDTypesWithMetadata) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"f32", torch::randn({3, 4})},
      {"f16", torch::randn({5}).to(torch::kHalf)},
      {"bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
      {"f64", torch::randn({1, 1, 3}, torch::kFloat64)},
      {"i64", torch::randint(-1000, 1000, {4}, torch::kInt64)},
      {"i32", torch::randint(-1000, 1000, {3}, torch::kInt32)},
      {"i16", torch::randint(-1000, 1000, {3}, torch::kInt16)},
      {"i8", torch::randint(-100, 100, {7}, torch::kInt8)},
      {"u8", torch::randint(0, 255, {2, 3}, torch::kUInt8)},
      {"bool", torch::randint(0, 2, {9}).to(torch::kBool)},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::empty({0, 4})},
      {"also_empty", torch::empty({3, 0}, torch::kInt32)},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "400"}};
  const std::string path = PathFor("model.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors, metadata).ok());

  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->path(), path);
  EXPECT_EQ(file->metadata(), metadata);
  ASSERT_EQ(file->entries().size(), tensors.size());
  for (size_t i = 1; i < file->entries().size(); ++i) {
    EXPECT_LT(file->entries()[i - 1].name, file->entries()[i].name);
  }
  for (const auto& [name, original] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(file->Contains(name));
    const absl::StatusOr<SafetensorsEntry> entry = file->Entry(name);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->shape, original.sizes().vec());
    EXPECT_EQ(ToScalarType(entry->dtype), original.scalar_type());
    EXPECT_EQ(entry->end - entry->begin, original.numel() * original.element_size());
    const absl::StatusOr<torch::Tensor> loaded = file->Load(name);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->scalar_type(), original.scalar_type());
    EXPECT_TRUE(torch::equal(*loaded, original));
  }
  const absl::StatusOr<std::map<std::string, torch::Tensor>> all = file->LoadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), tensors.size());
  EXPECT_TRUE(torch::equal(all->at("u8"), tensors[8].second));
}

TEST_F(SafetensorsTest, StoresNonContiguousTensorsContiguously) {
  const torch::Tensor base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  const std::string path = PathFor("views.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"t", base.t()}, {"strided", base.slice(1, 0, 4, 2)}}).ok());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(torch::equal(*file->Load("t"), base.t()));
  EXPECT_TRUE(torch::equal(*file->Load("strided"), base.slice(1, 0, 4, 2)));
}

TEST_F(SafetensorsTest, EmptyFileOfTensorsRoundTrips) {
  const std::string path = PathFor("nothing.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {}).ok());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->entries().empty());
  EXPECT_TRUE(file->metadata().empty());
  EXPECT_TRUE(file->LoadAll()->empty());
}

TEST_F(SafetensorsTest, HeaderIsPaddedJsonInTheReferenceLayout) {
  const std::string path = PathFor("layout.safetensors");
  ASSERT_TRUE(WriteSafetensors(
                  path,
                  {{"b", torch::ones({3}, torch::kUInt8)}, {"a", torch::zeros({2}, torch::kInt16)}},
                  {{"k", "v"}})
                  .ok());
  const std::string bytes = ReadBytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(length % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + length + 3 + 4);
  const Json header = Json::parse(bytes.substr(8, length));
  EXPECT_EQ(header["__metadata__"]["k"], "v");
  // Data keeps the caller's order: "b" first.
  EXPECT_EQ(header["b"]["data_offsets"], Json::array({0, 3}));
  EXPECT_EQ(header["a"]["data_offsets"], Json::array({3, 7}));
  EXPECT_EQ(header["a"]["dtype"], "I16");
  EXPECT_EQ(header["a"]["shape"], Json::array({2}));
}

TEST_F(SafetensorsTest, ReadsUnpaddedFilesFromOtherWriters) {
  // An unpadded header leaves the data section misaligned; loading must still work (it copies).
  const float values[2] = {1.25f, -3.5f};
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE((8 + header.size()) % alignof(float), 0u);
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(WriteRaw(
      "foreign.safetensors", header, std::string(reinterpret_cast<const char*>(values), 8)));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(torch::equal(*file->Load("w"), torch::tensor({1.25f, -3.5f})));
}

TEST_F(SafetensorsTest, ZeroSizedTensorsMayShareAnOffset) {
  const std::string header = R"({"e1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                             R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                             R"("e2":{"dtype":"I64","shape":[4,0],"data_offsets":[2,2]}})";
  absl::StatusOr<SafetensorsFile> file =
      SafetensorsFile::Open(WriteRaw("zeros.safetensors", header, "\x01\x02"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->Load("e2")->sizes().vec(), (std::vector<int64_t>{4, 0}));
}

TEST_F(SafetensorsTest, UnknownNameIsNotFound) {
  const std::string path = PathFor("one.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::ones({1})}}).ok());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->Contains("v"));
  EXPECT_EQ(file->Load("v").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(file->Entry("ww").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(file->Load("v").status()), HasSubstr("'v'"));
}

TEST_F(SafetensorsTest, MovedFileStaysUsable) {
  const std::string path = PathFor("move.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::arange(4)}}).ok());
  absl::StatusOr<SafetensorsFile> opened = SafetensorsFile::Open(path);
  ASSERT_TRUE(opened.ok());
  SafetensorsFile moved = std::move(*opened);
  SafetensorsFile assigned = std::move(moved);
  EXPECT_TRUE(torch::equal(*assigned.Load("w"), torch::arange(4)));
}

// ---- writing ----------------------------------------------------------------------------------

TEST_F(SafetensorsTest, AtomicWriteLeavesNoTemporaryFile) {
  const std::string path = PathFor("ckpt.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::ones({2})}}).ok());
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::zeros({3})}}).ok());  // overwrite in place
  EXPECT_THAT(DirectoryListing(), ::testing::ElementsAre("ckpt.safetensors"));
  EXPECT_TRUE(torch::equal(*SafetensorsFile::Open(path)->Load("w"), torch::zeros({3})));
}

TEST_F(SafetensorsTest, FailedWriteLeavesNoTemporaryFileAndKeepsTarget) {
  // The target is a non-empty directory: the temporary file is written, the rename fails.
  const std::string path = PathFor("occupied");
  fs::create_directory(path);
  std::ofstream(fs::path(path) / "inside").put('x');
  const absl::Status status = WriteSafetensors(path, {{"w", torch::ones({2})}});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr(path));
  EXPECT_THAT(DirectoryListing(), ::testing::ElementsAre("occupied"));
}

TEST_F(SafetensorsTest, UnwritablePathIsAnError) {
  const std::string path = PathFor("no/such/dir/x.safetensors");
  const absl::Status status = WriteSafetensors(path, {{"w", torch::ones({2})}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(status), HasSubstr(path));
  EXPECT_FALSE(WriteSafetensors("", {{"w", torch::ones({2})}}).ok());
}

TEST_F(SafetensorsTest, WriterRejectsBadNamesAndTensors) {
  const std::string path = PathFor("bad.safetensors");
  const torch::Tensor t = torch::ones({1});
  EXPECT_THAT(Message(WriteSafetensors(path, {{"a", t}, {"a", t}})),
              HasSubstr("duplicate tensor name 'a'"));
  EXPECT_THAT(Message(WriteSafetensors(path, {{"", t}})), HasSubstr("must not be empty"));
  EXPECT_THAT(Message(WriteSafetensors(path, {{"__metadata__", t}})), HasSubstr("reserved"));
  EXPECT_THAT(Message(WriteSafetensors(path, {{"u", torch::Tensor()}})), HasSubstr("undefined"));
  const absl::Status complex =
      WriteSafetensors(path, {{"c", torch::zeros({2}, torch::kComplexFloat)}});
  EXPECT_EQ(complex.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(complex), HasSubstr("'c'"));
  EXPECT_THAT(Message(WriteSafetensors(path, {{"bad\xff", t}})), HasSubstr("valid UTF-8"));
  EXPECT_THAT(Message(WriteSafetensors(path, {{"w", t}}, {{"note", "\xc3"}})),
              HasSubstr("valid UTF-8"));
  EXPECT_TRUE(DirectoryListing().empty());
}

TEST_F(SafetensorsTest, UnicodeNamesAndMetadata) {
  const std::string path = PathFor("unicode.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"bloc.é.poids", torch::ones({1})}},
                               {{"note", "quote \" and \\ and newline \n"}})
                  .ok());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->Contains("bloc.é.poids"));
  EXPECT_EQ(file->metadata().at("note"), "quote \" and \\ and newline \n");
}

// ---- strict reading of corrupt files ----------------------------------------------------------

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  const absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(PathFor("absent.safetensors"));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(file.status()), HasSubstr("absent.safetensors"));
}

TEST_F(SafetensorsTest, DirectoryIsNotAFile) {
  EXPECT_FALSE(SafetensorsFile::Open(dir_.string()).ok());
}

TEST_F(SafetensorsTest, TruncatedFiles) {
  for (const std::string& bytes : {std::string(), std::string("\x10\x00\x00", 3)}) {
    const std::string path = PathFor("short.safetensors");
    WriteBytes(path, bytes);
    const absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Message(file.status()), HasSubstr("truncated"));
    EXPECT_THAT(Message(file.status()), HasSubstr(path));
  }
  // A valid file cut short in its data section.
  const std::string path = PathFor("cut.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::ones({16})}}).ok());
  std::string bytes = ReadBytes(path);
  bytes.resize(bytes.size() - 5);
  WriteBytes(path, bytes);
  const absl::StatusOr<SafetensorsFile> cut = SafetensorsFile::Open(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(cut.status()), HasSubstr("out of bounds"));
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  const std::string path = WriteRaw("long.safetensors", "{}", "", /*declared_length=*/3);
  const absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(file.status()), HasSubstr("runs past the end"));
  // A length near 2^64 must not wrap around in the bounds arithmetic.
  EXPECT_FALSE(
      SafetensorsFile::Open(WriteRaw("huge.safetensors", "{}", "", ~uint64_t{0} - 4)).ok());
}

TEST_F(SafetensorsTest, HeaderLargerThanLimit) {
  // A sparse file: the declared 100'000'001-byte header exists on disk but is never read.
  const uint64_t length = 100'000'001;
  const std::string path = WriteRaw("big.safetensors", "", "", length);
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(8 + length + 8)), 0);
  const absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(Message(file.status()), HasSubstr("exceeds the limit"));
}

TEST_F(SafetensorsTest, InvalidJson) {
  const absl::Status status = OpenError(R"({"w": {"dtype": "F32",)", "");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), HasSubstr("not valid JSON"));
  EXPECT_THAT(Message(status), HasSubstr("bad.safetensors"));
  EXPECT_THAT(Message(OpenError("[1, 2]", "")), HasSubstr("not a JSON object"));
  EXPECT_THAT(Message(OpenError("", "")), HasSubstr("not valid JSON"));
}

TEST_F(SafetensorsTest, BadEntries) {
  EXPECT_THAT(Message(OpenError(R"({"w": 3})", "")),
              HasSubstr("tensor 'w': entry is not an object"));
  EXPECT_THAT(Message(OpenError(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", "1234")),
              HasSubstr("\"dtype\""));
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}})", "1234")),
      HasSubstr("\"dtype\""));
  EXPECT_THAT(Message(OpenError(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", "1234")),
              HasSubstr("\"shape\""));
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", "1234")),
      HasSubstr("not an array"));
  EXPECT_THAT(Message(OpenError(R"({"w": {"dtype": "F32", "shape": [1]}})", "1234")),
              HasSubstr("data_offsets"));
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", "1234")),
      HasSubstr("data_offsets"));
  EXPECT_THAT(Message(OpenError(
                  R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", "1234")),
              HasSubstr("data_offsets"));
}

TEST_F(SafetensorsTest, UnknownDType) {
  const absl::Status status =
      OpenError(R"({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", "1234");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), HasSubstr("tensor 'w'"));
  EXPECT_THAT(Message(status), HasSubstr("F8_E4M3"));
}

TEST_F(SafetensorsTest, BadShapes) {
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}})", "x")),
      HasSubstr("not a non-negative integer"));
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 1]}})", "x")),
      HasSubstr("not a non-negative integer"));
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": "U8", "shape": ["1"], "data_offsets": [0, 1]}})", "x")),
      HasSubstr("not a non-negative integer"));
  EXPECT_THAT(
      Message(OpenError(
          R"({"w": {"dtype": "F64", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}})",
          "")),
      HasSubstr("overflows"));
  EXPECT_THAT(
      Message(OpenError(
          R"({"w": {"dtype": "U8", "shape": [18446744073709551615], "data_offsets": [0, 0]}})",
          "")),
      HasSubstr("too large"));
}

TEST_F(SafetensorsTest, OffsetsOutOfBounds) {
  const absl::Status past_end =
      OpenError(R"({"w": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}})", "1234");
  EXPECT_EQ(past_end.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(past_end), HasSubstr("tensor 'w': data_offsets [0, 8] are out of bounds"));
  EXPECT_THAT(
      Message(OpenError(R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [4, 2]}})", "1234")),
      HasSubstr("out of bounds"));
  EXPECT_THAT(Message(OpenError(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}})",
                                "1234")),
              HasSubstr("not a non-negative integer"));
}

TEST_F(SafetensorsTest, SizeDisagreesWithShape) {
  const absl::Status status = OpenError(
      R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}})", std::string(12, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status),
              HasSubstr("tensor 'w': data_offsets span 12 bytes but float32 shape [2] needs 8"));
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  const absl::Status status =
      OpenError(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                std::string(12, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), HasSubstr("tensor 'b'"));
  EXPECT_THAT(Message(status), HasSubstr("overlap tensor 'a'"));
  // Identical ranges overlap too.
  EXPECT_THAT(Message(OpenError(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                                R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})",
                                "1234")),
              HasSubstr("overlap"));
}

TEST_F(SafetensorsTest, HolesAndTrailingBytes) {
  const absl::Status hole =
      OpenError(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}})",
                std::string(12, 'x'));
  EXPECT_EQ(hole.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(hole), HasSubstr("tensor 'b'"));
  EXPECT_THAT(Message(hole), HasSubstr("4-byte hole"));
  EXPECT_THAT(Message(OpenError(R"({"b": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
                                std::string(8, 'x'))),
              HasSubstr("hole"));
  EXPECT_THAT(Message(OpenError(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})",
                                std::string(8, 'x'))),
              HasSubstr("4 trailing bytes"));
  EXPECT_THAT(Message(OpenError("{}", "x")), HasSubstr("1 trailing bytes"));
}

TEST_F(SafetensorsTest, DuplicateKeysAreCaughtByCoverage) {
  // JSON parsers keep one of two duplicate keys; the other's bytes then show up as a hole.
  const absl::Status status =
      OpenError(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                R"( "a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
                std::string(8, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
}

TEST_F(SafetensorsTest, MetadataMustBeStrings) {
  EXPECT_THAT(Message(OpenError(R"({"__metadata__": {"step": 400}})", "")),
              HasSubstr("\"__metadata__\" value for 'step' is not a string"));
  EXPECT_THAT(Message(OpenError(R"({"__metadata__": ["a"]})", "")),
              HasSubstr("\"__metadata__\" is not an object"));
  EXPECT_THAT(Message(OpenError(R"({"__metadata__": {"nested": {"a": "b"}}})", "")),
              HasSubstr("not a string"));
}

TEST_F(SafetensorsTest, InvalidBoolBytesFailOnLoad) {
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(WriteRaw(
      "bool.safetensors", R"({"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})",
      std::string("\x01\x05", 2)));
  ASSERT_TRUE(file.ok()) << file.status();
  const absl::StatusOr<torch::Tensor> tensor = file->Load("m");
  ASSERT_FALSE(tensor.ok());
  EXPECT_EQ(tensor.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(tensor.status()), HasSubstr("bool.safetensors:m"));
  EXPECT_FALSE(file->LoadAll().ok());
}

}  // namespace
}  // namespace vlarft::core
