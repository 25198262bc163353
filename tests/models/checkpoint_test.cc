#include "libs/models/checkpoint.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "libs/models/checkpoint_util.h"
#include "libs/models/layers.h"

namespace vlarft::models {
namespace {

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_ckpt_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct Tiny : torch::nn::Module {
  explicit Tiny(int64_t width) {
    fc1 = register_module("fc1", LoraLinear(4, width));
    fc2 = register_module("fc2", LoraLinear(width, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::tanh(fc1(x))); }
  LoraLinear fc1{nullptr}, fc2{nullptr};
};

ModelSidecar Sidecar(int64_t width) {
  ModelSidecar sidecar;
  sidecar.kind = "tiny";
  sidecar.config["width"] = width;
  sidecar.extra["action_min"] = std::vector<double>{-1, -1};
  return sidecar;
}

TEST(CheckpointTest, ModelRoundTripAndStrictErrors) {
  const std::string dir = TempDir("model");
  torch::manual_seed(0);
  Tiny a(8);
  ASSERT_TRUE(SaveModel(dir + "/m", a, Sidecar(8)).ok());

  auto sidecar = ReadModelSidecar(dir + "/m", "tiny");
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  EXPECT_EQ(sidecar->config["width"].as<int>(), 8);
  EXPECT_EQ(sidecar->extra["action_min"].size(), 2u);
  EXPECT_EQ(ReadModelSidecar(dir + "/m", "policy").status().code(), absl::StatusCode::kFailedPrecondition);

  Tiny b(8);
  ASSERT_TRUE(LoadModelWeights(dir + "/m", b).ok());
  torch::Tensor x = torch::randn({3, 4});
  EXPECT_TRUE(torch::equal(a.forward(x), b.forward(x)));

  Tiny wrong(16);
  torch::Tensor before = wrong.fc1->weight().clone();
  absl::Status mismatch = LoadModelWeights(dir + "/m", wrong);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.ToString().find("fc1.weight"), std::string::npos) << mismatch;
  EXPECT_TRUE(torch::equal(wrong.fc1->weight(), before)) << "a failed load must not modify the module";

  EXPECT_FALSE(LoadModelWeights(dir + "/missing", b).ok());

  // A path to one of the two files instead of the stem: the error says which stem to give.
  for (const std::string& file : {dir + "/m.safetensors", dir + "/m.yaml"}) {
    absl::Status weights = LoadModelWeights(file, b);
    EXPECT_EQ(weights.code(), absl::StatusCode::kInvalidArgument) << weights;
    EXPECT_NE(weights.message().find("give the checkpoint stem '" + dir + "/m'"), std::string::npos) << weights;
    EXPECT_EQ(ReadModelSidecar(file, "tiny").status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// Training 6 steps straight must equal training 3, checkpointing, restoring into fresh objects, and
// training 3 more: same weights, bit for bit (optimizer moments and step counts restored).
TEST(CheckpointTest, ResumeContinuesBitForBit) {
  const std::string dir = TempDir("resume");
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({16, 4});
  torch::Tensor y = torch::randn({16, 2});
  auto train = [&](Tiny& model, torch::optim::AdamW& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      torch::mse_loss(model.forward(x), y).backward();
      opt.step();
    }
  };
  torch::manual_seed(5);
  Tiny straight(8);
  torch::manual_seed(5);
  Tiny resumed(8);
  torch::optim::AdamW opt_straight(straight.parameters(), torch::optim::AdamWOptions(1e-2));
  torch::optim::AdamW opt_resumed(resumed.parameters(), torch::optim::AdamWOptions(1e-2));
  train(straight, opt_straight, 6);
  train(resumed, opt_resumed, 3);

  TrainingCheckpoints checkpoints(dir, /*keep=*/1);
  TrainerState state;
  state.step = 3;
  state.generator_state = core::MakeCpuGenerator(42).get_state();
  ASSERT_TRUE(checkpoints.Save(resumed, Sidecar(8), opt_resumed, TrainableParameters(resumed), state).ok());
  ASSERT_TRUE(checkpoints.Latest().has_value());

  torch::manual_seed(99);
  Tiny fresh(8);
  torch::optim::AdamW opt_fresh(fresh.parameters(), torch::optim::AdamWOptions(1e-2));
  auto restored = checkpoints.Restore(fresh, "tiny", opt_fresh, TrainableParameters(fresh));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->step, 3);
  EXPECT_TRUE(torch::equal(restored->generator_state, state.generator_state));
  train(fresh, opt_fresh, 3);
  EXPECT_TRUE(torch::equal(fresh.fc1->weight(), straight.fc1->weight()));
  EXPECT_TRUE(torch::equal(fresh.fc2->weight(), straight.fc2->weight()));
}

TEST(CheckpointTest, RetentionKeepsNewestAndLatestSurvivesPartialWrites) {
  const std::string dir = TempDir("retention");
  Tiny model(4);
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(1e-3));
  TrainingCheckpoints checkpoints(dir, /*keep=*/2);
  for (int64_t step : {1, 2, 3}) {
    TrainerState state;
    state.step = step;
    ASSERT_TRUE(checkpoints.Save(model, Sidecar(4), opt, TrainableParameters(model), state).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/step-1"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/step-2"));
  EXPECT_EQ(*checkpoints.Latest(), dir + "/step-3");
  // A half-written newer directory (killed before LATEST moved) is ignored.
  std::filesystem::create_directories(dir + "/step-4");
  EXPECT_EQ(*checkpoints.Latest(), dir + "/step-3");
  // No checkpoint at all is NOT_FOUND, not a crash.
  TrainingCheckpoints empty(TempDir("empty"));
  EXPECT_EQ(empty.Restore(model, "tiny", opt, TrainableParameters(model)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckpointTest, SidecarConfigCheckPassesOnlyNewerFieldsAtTheirDefaults) {
  ModelSidecar stored;
  stored.config = YAML::Load("{layers: 4, dim: 192}");
  const YAML::Node defaults = YAML::Load("{layers: 4, dim: 192, extra_dims: [0, 1], octaves: 0}");
  EXPECT_TRUE(CheckSidecarConfig(stored, YAML::Load("{layers: 4, dim: 192.0}"), "m").ok());
  // A field the sidecar predates passes at its default — only when the defaults are given.
  const YAML::Node newer = YAML::Load("{layers: 4, dim: 192, extra_dims: [0, 1], octaves: 0}");
  EXPECT_TRUE(CheckSidecarConfig(stored, newer, "m", defaults).ok());
  absl::Status absent = CheckSidecarConfig(stored, newer, "m");
  EXPECT_EQ(absent.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(absent.message().find("extra_dims = <absent>"), std::string::npos) << absent;
  // Not at its default (a sequence as well as a scalar): refused, naming the field.
  for (const char* changed : {"{layers: 4, dim: 192, extra_dims: [0, 2], octaves: 0}",
                              "{layers: 4, dim: 192, extra_dims: [0, 1], octaves: 3}"}) {
    absl::Status status = CheckSidecarConfig(stored, YAML::Load(changed), "m", defaults);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << changed;
    EXPECT_NE(status.message().find("<absent>"), std::string::npos) << status;
  }
  // A stored field that differs is refused whatever the defaults say.
  EXPECT_FALSE(CheckSidecarConfig(stored, YAML::Load("{layers: 4, dim: 96}"), "m", defaults).ok());
}

}  // namespace
}  // namespace vlarft::models
