#include "libs/core/file_io.h"

#include <filesystem>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::core {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_file_io_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(FileIoTest, WritesAtomicallyAndReadsBack) {
  const std::string dir = FreshDir("roundtrip");
  const std::string path = dir + "/a.json";
  ASSERT_TRUE(WriteFileAtomically(path, std::string("x\0y", 3)).ok());
  EXPECT_EQ(*ReadFileToString(path), std::string("x\0y", 3));
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());  // replaces
  EXPECT_EQ(*ReadFileToString(path), "second");
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(FileIoTest, ConcurrentWritersNeverLeaveAPartialFile) {
  const std::string dir = FreshDir("concurrent");
  const std::string path = dir + "/shared.txt";
  const std::string a(100000, 'a'), b(100000, 'b');
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(WriteFileAtomically(path, t % 2 ? a : b).ok());
    });
  }
  for (std::thread& w : writers) w.join();
  const std::string final_text = *ReadFileToString(path);
  EXPECT_TRUE(final_text == a || final_text == b);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(FileIoTest, ErrorsNameThePath) {
  const std::string dir = FreshDir("errors");
  absl::StatusOr<std::string> missing = ReadFileToString(dir + "/absent.pem");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("absent.pem"));
  const absl::Status unwritable = WriteFileAtomically(dir + "/no/such/dir/x.txt", "x");
  EXPECT_FALSE(unwritable.ok());
  EXPECT_THAT(std::string(unwritable.message()), HasSubstr("no/such/dir/x.txt"));
}

}  // namespace
}  // namespace vlarft::core
