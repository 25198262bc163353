#include "libs/core/state_dict.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Parameters, a bias-less linear (an undefined registered parameter), nested modules and buffers.
struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 3));
    fc2 = register_module("fc2", torch::nn::Linear(torch::nn::LinearOptions(3, 2).bias(false)));
    norm = register_module("norm", torch::nn::BatchNorm1d(3));
    scale = register_buffer("scale", torch::full({2}, 0.5));
    mask = register_buffer("mask", torch::tensor({true, false}));
  }
  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
  torch::Tensor scale;
  torch::Tensor mask;
};
TORCH_MODULE(Net);

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

std::map<std::string, torch::Tensor> Snapshot(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> snapshot;
  for (const auto& [name, tensor] : NamedStateTensors(module)) snapshot[name] = tensor.clone();
  return snapshot;
}

void ExpectUnchanged(const torch::nn::Module& module,
                     const std::map<std::string, torch::Tensor>& before) {
  for (const auto& [name, tensor] : NamedStateTensors(module)) {
    EXPECT_TRUE(torch::equal(tensor, before.at(name))) << name << " was modified";
  }
}

// A module's state under `prefix`, with values that differ from a fresh module's.
std::map<std::string, torch::Tensor> DistinctState(const std::string& prefix) {
  Net source;
  std::map<std::string, torch::Tensor> state;
  for (const auto& [name, tensor] : NamedStateTensors(*source, prefix)) {
    torch::Tensor value = tensor.detach().clone();
    if (value.is_floating_point()) value.uniform_(5.0, 6.0);
    if (value.scalar_type() == torch::kBool) value = value.logical_not();
    if (value.scalar_type() == torch::kLong) value.fill_(17);
    state[name] = value;
  }
  return state;
}

std::vector<std::string> Names(const Named& named) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : named) names.push_back(name);
  return names;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(NamedStateTensorsTest, ParametersThenBuffersWithPrefix) {
  Net net;
  EXPECT_THAT(
      Names(NamedStateTensors(*net, "policy.")),
      ElementsAre("policy.fc1.weight", "policy.fc1.bias", "policy.fc2.weight", "policy.norm.weight",
                  "policy.norm.bias", "policy.scale", "policy.mask", "policy.norm.running_mean",
                  "policy.norm.running_var", "policy.norm.num_batches_tracked"));
  // The tensors are the module's own, not copies.
  EXPECT_EQ(NamedStateTensors(*net)[0].second.data_ptr(), net->fc1->weight.data_ptr());
}

TEST(LoadModuleStateTest, LoadsFromMapInPlace) {
  Net net;
  const void* weight_storage = net->fc1->weight.data_ptr();
  const auto state = DistinctState("");
  ASSERT_TRUE(LoadModuleState(state, *net).ok());
  for (const auto& [name, tensor] : NamedStateTensors(*net)) {
    EXPECT_TRUE(torch::equal(tensor, state.at(name))) << name;
  }
  EXPECT_EQ(net->fc1->weight.data_ptr(), weight_storage);
  EXPECT_TRUE(net->fc1->weight.requires_grad());
}

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "state_dict_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string Write(const std::map<std::string, torch::Tensor>& state) {
    const std::string path = (dir_ / "state.safetensors").string();
    Named tensors(state.begin(), state.end());
    EXPECT_TRUE(WriteSafetensors(path, tensors).ok());
    return path;
  }

  fs::path dir_;
};

TEST_F(StateFileTest, RoundTripThroughSafetensorsWithPrefix) {
  auto state = DistinctState("policy.");
  state["wm.blocks.0.weight"] = torch::ones({2});  // another model's tensors are not "unexpected"
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(Write(state));
  ASSERT_TRUE(file.ok());
  Net net;
  LoadStateOptions options;
  options.prefix = "policy.";
  const absl::Status status = LoadModuleState(*file, *net, options);
  ASSERT_TRUE(status.ok()) << status;
  for (const auto& [name, tensor] : NamedStateTensors(*net, "policy.")) {
    EXPECT_TRUE(torch::equal(tensor, state.at(name))) << name;
  }
}

TEST_F(StateFileTest, SaveThenLoadIntoFreshModule) {
  Net trained;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : NamedStateTensors(*trained)) {
      if (tensor.is_floating_point()) tensor.uniform_(0.5, 1.5);  // positive: includes running_var
    }
  }
  const std::string path = (dir_ / "trained.safetensors").string();
  ASSERT_TRUE(WriteSafetensors(path, NamedStateTensors(*trained)).ok());
  Net fresh;
  ASSERT_TRUE(LoadModuleState(*SafetensorsFile::Open(path), *fresh).ok());
  const torch::Tensor input = torch::randn({5, 4});
  trained->eval();
  fresh->eval();
  auto forward = [&input](Net& net) { return net->fc2(net->norm(net->fc1(input))); };
  EXPECT_TRUE(torch::equal(forward(trained), forward(fresh)));
}

TEST_F(StateFileTest, MissingTensorFailsAndChangesNothing) {
  auto state = DistinctState("");
  state.erase("fc1.bias");
  state.erase("norm.running_var");
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(Write(state));
  ASSERT_TRUE(file.ok());
  Net net;
  const auto before = Snapshot(*net);
  const absl::Status status = LoadModuleState(*file, *net);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), HasSubstr("2 missing: fc1.bias, norm.running_var"));
  ExpectUnchanged(*net, before);

  LoadStateOptions tolerant;
  tolerant.allow_missing = true;
  ASSERT_TRUE(LoadModuleState(*file, *net, tolerant).ok());
  EXPECT_TRUE(torch::equal(net->fc1->bias, before.at("fc1.bias")));     // untouched
  EXPECT_TRUE(torch::equal(net->fc1->weight, state.at("fc1.weight")));  // loaded
}

TEST_F(StateFileTest, UnexpectedTensorFailsAndChangesNothing) {
  auto state = DistinctState("m.");
  state["m.extra.weight"] = torch::zeros({1});
  state["other.weight"] = torch::zeros({1});  // outside the prefix: ignored
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(Write(state));
  ASSERT_TRUE(file.ok());
  Net net;
  const auto before = Snapshot(*net);
  LoadStateOptions options;
  options.prefix = "m.";
  const absl::Status status = LoadModuleState(*file, *net, options);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr("(prefix 'm.')"));
  EXPECT_THAT(Message(status), HasSubstr("1 unexpected: m.extra.weight"));
  EXPECT_THAT(Message(status), Not(HasSubstr("other.weight")));
  ExpectUnchanged(*net, before);

  options.allow_unexpected = true;
  EXPECT_TRUE(LoadModuleState(*file, *net, options).ok());
}

TEST_F(StateFileTest, ShapeAndDTypeMismatchesFailAndChangeNothing) {
  auto state = DistinctState("");
  state["fc1.weight"] = torch::zeros({3, 5});
  state["scale"] = torch::zeros({2}, torch::kFloat64);
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(Write(state));
  ASSERT_TRUE(file.ok());
  Net net;
  const auto before = Snapshot(*net);
  const absl::Status status = LoadModuleState(*file, *net);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr("2 mismatched: "));
  EXPECT_THAT(Message(status),
              HasSubstr("fc1.weight (source float32 [3, 5], module float32 [3, 4])"));
  EXPECT_THAT(Message(status), HasSubstr("scale (source float64 [2], module float32 [2])"));
  ExpectUnchanged(*net, before);
}

TEST_F(StateFileTest, ReportsAllKindsOfOffendersTogether) {
  auto state = DistinctState("");
  state.erase("fc2.weight");
  state["bogus"] = torch::zeros({1});
  state["norm.weight"] = torch::zeros({4});
  Net net;
  const absl::Status status = LoadModuleState(state, *net);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(Message(status),
            "state dict does not match the module: 1 missing: fc2.weight; 1 unexpected: bogus; "
            "1 mismatched: norm.weight (source float32 [4], module float32 [3])");
}

TEST_F(StateFileTest, LongListsAreTruncated) {
  std::map<std::string, torch::Tensor> state = DistinctState("");
  for (int i = 0; i < 25; ++i) state["junk." + std::to_string(100 + i)] = torch::zeros({1});
  Net net;
  const absl::Status status = LoadModuleState(state, *net);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr("25 unexpected: junk.100, "));
  EXPECT_THAT(Message(status), HasSubstr("junk.109, ... (15 more)"));
  EXPECT_THAT(Message(status), Not(HasSubstr("junk.110")));
}

TEST_F(StateFileTest, CorruptDataFailsBeforeAnythingIsCopied) {
  // A valid header whose bool buffer holds byte 7: found only when reading the data.
  const std::string path = Write(DistinctState(""));
  uint64_t mask_offset = 0;
  {
    absl::StatusOr<SafetensorsFile> clean = SafetensorsFile::Open(path);
    ASSERT_TRUE(clean.ok());
    mask_offset = clean->Entry("mask")->begin;
  }  // unmapped before the file is rewritten
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i)
    header_length = (header_length << 8) | static_cast<uint8_t>(bytes[i]);
  bytes[8 + header_length + mask_offset] = 7;
  {
    std::ofstream out(path + ".new", std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  fs::rename(path + ".new", path);
  absl::StatusOr<SafetensorsFile> corrupt = SafetensorsFile::Open(path);
  ASSERT_TRUE(corrupt.ok());
  Net net;
  const auto before = Snapshot(*net);
  const absl::Status status = LoadModuleState(*corrupt, *net);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), HasSubstr(":mask"));
  ExpectUnchanged(*net, before);
}

TEST(LoadModuleStateTest, UndefinedSourceTensorIsAnError) {
  auto state = DistinctState("");
  state["fc1.bias"] = torch::Tensor();
  Net net;
  EXPECT_THAT(Message(LoadModuleState(state, *net)), HasSubstr("'fc1.bias' is undefined"));
}

}  // namespace
}  // namespace vlarft::core
