#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "libs/core/rng.h"
#include "libs/core/safetensors.h"
#include "libs/models/checkpoint.h"
#include "libs/models/strided_video_data.h"
#include "libs/models/train_tokenizer.h"
#include "libs/models/train_world_model.h"
#include "tests/models/synthetic_video_data.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::models {
namespace {

using testing::SmallTokenizerConfig;
using testing::SmallWorldModelConfig;
using testing::SyntheticVideoData;

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_wmtrain_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void Quiet(const std::string&) {}

// `steps` steps of 2 two-frame sequences on the SmallTokenizerConfig geometry, all threads.
WorldModelTrainConfig TinyTrainConfig(int64_t steps) {
  WorldModelTrainConfig config;
  config.steps = steps;
  config.batch_size = 2;
  config.frames = 2;
  config.warmup_steps = 1;
  config.torch_threads = 0;
  return config;
}

TEST(TrainTokenizerTest, OverfitsOneBatch) {
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  SyntheticVideoData data(16);
  at::Generator generator = core::MakeCpuGenerator(1);
  const VideoClips clips = data.SampleClips(4, 3, false, generator).value();
  const torch::Tensor contexts = FramesToModel(clips.frames.select(1, 0), torch::kCPU);
  const torch::Tensor futures = FramesToModel(clips.frames.select(1, 3), torch::kCPU);
  TokenizerTrainConfig config;
  torch::optim::AdamW optimizer(tokenizer->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0));
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    optimizer.zero_grad();
    TokenizerLosses losses = ComputeTokenizerLosses(tokenizer, nullptr, contexts, futures, config, false);
    losses.total.backward();
    optimizer.step();
    (step == 0 ? first : last) = losses.total.item<double>();
  }
  EXPECT_LT(last, 0.4 * first) << first << " -> " << last;
}

TEST(TrainTokenizerTest, AdversarialTermTrainsBothSides) {
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  PatchDiscriminator discriminator(8);
  SyntheticVideoData data(16);
  at::Generator generator = core::MakeCpuGenerator(1);
  const VideoClips clips = data.SampleClips(2, 1, false, generator).value();
  TokenizerTrainConfig config;
  config.adversarial_weight = 0.1;
  TokenizerLosses losses =
      ComputeTokenizerLosses(tokenizer, &discriminator, FramesToModel(clips.frames.select(1, 0), torch::kCPU),
                             FramesToModel(clips.frames.select(1, 1), torch::kCPU), config, true);
  ASSERT_TRUE(losses.adversarial.defined() && losses.discriminator.defined());
  // The tokenizer's loss must not move the discriminator, and vice versa.
  losses.total.backward({}, /*retain_graph=*/true);
  for (const auto& p : discriminator->parameters()) EXPECT_FALSE(p.grad().defined() && p.grad().abs().sum().item<double>() > 0);
  for (auto& p : tokenizer->parameters()) p.mutable_grad() = torch::Tensor();
  losses.discriminator.backward();
  for (const auto& p : tokenizer->parameters()) EXPECT_FALSE(p.grad().defined() && p.grad().abs().sum().item<double>() > 0);
  double d_grad = 0;
  for (const auto& p : discriminator->parameters()) d_grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(d_grad, 0);
}

TokenizerTrainConfig QuickTokenizerTraining() {
  TokenizerTrainConfig config;
  config.steps = 6;
  config.batch_size = 2;
  config.max_future_offset = 3;
  config.warmup_steps = 2;
  config.validate_every = 3;
  config.validation_batches = 1;
  config.checkpoint_every = 3;
  config.log_every = 3;
  config.torch_threads = 0;
  return config;
}

std::map<std::string, torch::Tensor> Weights(const std::string& stem) {
  return core::SafetensorsFile::Open(stem + ".safetensors").value().LoadAll().value();
}

TEST(TrainTokenizerTest, ResumesBitExactlyAndRejectsOtherConfigs) {
  const std::string dir = TempDir("tok");
  SyntheticVideoData data(16);
  TokenizerTrainConfig config = QuickTokenizerTraining();
  auto straight = TrainTokenizer(SmallTokenizerConfig(), config, data, dir + "/a_ckpt", dir + "/a", Quiet);
  ASSERT_TRUE(straight.ok()) << straight.status();
  EXPECT_TRUE(straight->complete);
  EXPECT_EQ(straight->validation_future_psnr.size(), 2u);

  config.stop_after_steps = 3;
  auto part = TrainTokenizer(SmallTokenizerConfig(), config, data, dir + "/b_ckpt", dir + "/b", Quiet);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_FALSE(part->complete);
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.safetensors"));
  auto rest = TrainTokenizer(SmallTokenizerConfig(), config, data, dir + "/b_ckpt", dir + "/b", Quiet);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_TRUE(rest->complete);
  EXPECT_EQ(rest->train_loss, straight->train_loss);  // history carried across the restart
  const auto a = Weights(dir + "/a"), b = Weights(dir + "/b");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;

  TokenizerConfig other = SmallTokenizerConfig();
  other.base_channels = 4;
  config.stop_after_steps = 0;
  config.steps = 9;
  absl::Status mismatch = TrainTokenizer(other, config, data, dir + "/b_ckpt", dir + "/c", Quiet).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition) << mismatch;
  EXPECT_NE(mismatch.message().find("base_channels"), std::string::npos) << mismatch;
}

TEST(TrainWorldModelTest, OverfitsATinySequence) {
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  WorldModel model(SmallWorldModelConfig(), testing::UnitActions());
  SyntheticVideoData data(16);
  at::Generator generator = core::MakeCpuGenerator(2);
  const torch::Tensor sequence = TokenizeClips(tokenizer, model, data.SampleClips(2, 3, false, generator).value());
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0));
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    optimizer.zero_grad();
    const torch::Tensor loss = model->FutureTokenLoss(sequence, 3);
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_GT(first, 7.0);  // ≈ ln(4375) at initialisation
  EXPECT_LT(last, 1.0) << first << " -> " << last;
}

TEST(TrainWorldModelTest, TrainsResumesAndRejectsOtherConfigs) {
  const std::string dir = TempDir("wm");
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  SyntheticVideoData data(16);
  WorldModelTrainConfig config = TinyTrainConfig(4);
  config.validate_every = 2;
  config.validation_batches = 1;
  config.checkpoint_every = 2;
  config.log_every = 2;
  config.storage_dtype = "float16";
  auto straight = TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, dir + "/a_ckpt", dir + "/a", Quiet);
  ASSERT_TRUE(straight.ok()) << straight.status();
  EXPECT_EQ(straight->validation_accuracy.size(), 2u);
  auto loaded = LoadWorldModel(dir + "/a", torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  config.stop_after_steps = 2;
  ASSERT_TRUE(TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, dir + "/b_ckpt", dir + "/b", Quiet).ok());
  auto rest = TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, dir + "/b_ckpt", dir + "/b", Quiet);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_TRUE(rest->complete);
  const auto a = Weights(dir + "/a"), b = Weights(dir + "/b");
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;

  WorldModelConfig wider = SmallWorldModelConfig();
  wider.ffn = 96;
  config.steps = 6;
  config.stop_after_steps = 0;
  absl::Status mismatch =
      TrainWorldModel(wider, config, tokenizer, "tok", data, dir + "/b_ckpt", dir + "/c", Quiet).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition) << mismatch;
  EXPECT_NE(mismatch.message().find("ffn"), std::string::npos) << mismatch;
}

TEST(TrainWorldModelTest, MotionWeightsMarkTheCellsThatChanged) {
  VideoClips clips;
  clips.frames = torch::zeros({1, 3, 16, 16, 3}, torch::kUInt8);
  clips.actions = torch::zeros({1, 2, 7});
  // Frame 2 (the second future) changes in its bottom-right quarter: cell (1, 1) of a 2x2 grid.
  clips.frames.index_put_({0, 2, torch::indexing::Slice(8, 16), torch::indexing::Slice(8, 16)}, 200);
  const torch::Tensor w = MotionWeights(clips, 2, 4.0, 0.01, torch::kCPU);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{1, 8}));
  const torch::Tensor expected = torch::tensor({{1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 5.f}});
  EXPECT_TRUE(torch::equal(w, expected)) << w;
  // Below the threshold nothing is marked.
  clips.frames.index_put_({0, 2}, 1);
  EXPECT_TRUE(torch::equal(MotionWeights(clips, 2, 4.0, 0.01, torch::kCPU), torch::ones({1, 8})));
}

TEST(TrainWorldModelTest, WeightedLossIsTheWeightedMeanOfTokenLosses) {
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  WorldModel model(SmallWorldModelConfig(), testing::UnitActions());
  SyntheticVideoData data(16);
  at::Generator generator = core::MakeCpuGenerator(3);
  const torch::Tensor sequence = TokenizeClips(tokenizer, model, data.SampleClips(2, 2, false, generator).value());
  const int64_t targets = 2 * model->config().future_tokens;
  const torch::Tensor plain = model->FutureTokenLoss(sequence, 2);
  EXPECT_NEAR(model->FutureTokenLoss(sequence, 2, torch::ones({2, targets})).item<double>(), plain.item<double>(), 1e-5);
  // All the weight on one token: the loss is that token's cross-entropy, not the mean.
  torch::Tensor one = torch::zeros({2, targets});
  one[0][0] = 1;
  const double single = model->FutureTokenLoss(sequence, 2, one).item<double>();
  EXPECT_NE(single, plain.item<double>());
  EXPECT_GT(single, 0);
  EXPECT_THROW(model->FutureTokenLoss(sequence, 2, torch::ones({2, targets + 1})), c10::Error);
}

TEST(TrainWorldModelTest, StridedClipsAreEveryKthFrameWithTheStepsActionsSummed) {
  SyntheticVideoData source(16);
  StridedVideoData strided(&source, 3);
  at::Generator a = core::MakeCpuGenerator(5), b = core::MakeCpuGenerator(5);
  auto clips = strided.SampleClips(2, 2, false, a);
  auto full = source.SampleClips(2, 6, false, b);
  ASSERT_TRUE(clips.ok()) << clips.status();
  ASSERT_EQ(clips->frames.sizes(), (std::vector<int64_t>{2, 3, 16, 16, 3}));
  ASSERT_EQ(clips->actions.sizes(), (std::vector<int64_t>{2, 2, 7}));
  for (int64_t t = 0; t <= 2; ++t) EXPECT_TRUE(torch::equal(clips->frames.select(1, t), full->frames.select(1, 3 * t)));
  EXPECT_TRUE(torch::allclose(clips->actions.select(1, 1).narrow(1, 0, 6),
                              full->actions.narrow(1, 3, 3).sum(1).narrow(1, 0, 6)));
  EXPECT_TRUE(torch::equal(clips->actions.select(1, 1).select(1, 6), full->actions.select(1, 5).select(1, 6)));
  EXPECT_EQ(strided.ActionMax(), (std::vector<double>{3, 3, 3, 3, 3, 3, 1}));
  EXPECT_EQ(strided.ActionMin(), (std::vector<double>{-3, -3, -3, -3, -3, -3, -1}));
}

TEST(TrainWorldModelTest, InitFromStartsFromTrainedWeights) {
  const std::string dir = TempDir("wm_init");
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  SyntheticVideoData data(16);
  WorldModelTrainConfig config = TinyTrainConfig(2);
  config.validate_every = 0;
  config.checkpoint_every = 0;
  config.log_every = 1;
  ASSERT_TRUE(TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, "", dir + "/first", Quiet).ok());
  // With lr ~0 a run started from `first` ends where `first` ended.
  config.lr = 1e-12;
  config.init_from = dir + "/first";
  config.motion_weight = 3;
  auto second = TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, "", dir + "/second", Quiet);
  ASSERT_TRUE(second.ok()) << second.status();
  const auto first = Weights(dir + "/first"), tuned = Weights(dir + "/second");
  for (const auto& [name, tensor] : first) EXPECT_TRUE(torch::allclose(tensor, tuned.at(name), 1e-5, 1e-6)) << name;

  // A run that adds action-value features starts from every stored weight, the projection at zero.
  WorldModelConfig smooth = SmallWorldModelConfig();
  smooth.action_features = 2;
  auto added = TrainWorldModel(smooth, config, tokenizer, "tok", data, "", dir + "/smooth", Quiet);
  ASSERT_TRUE(added.ok()) << added.status();
  const auto smooth_weights = Weights(dir + "/smooth");
  for (const auto& [name, tensor] : first) {
    EXPECT_TRUE(torch::allclose(tensor, smooth_weights.at(name), 1e-5, 1e-6)) << name;
  }
  ASSERT_EQ(smooth_weights.count("action_values.weight"), 1u);
  EXPECT_LT(smooth_weights.at("action_values.weight").abs().max().item<float>(), 1e-6);

  // A sidecar older than the action-value keys still starts a run, with or without them.
  {
    std::ifstream in(dir + "/first.yaml");
    std::stringstream text;
    text << in.rdbuf();
    std::string old_sidecar;
    for (std::string line; std::getline(text, line);) {
      if (line.find("action_features") == std::string::npos && line.find("action_values_only") == std::string::npos) {
        old_sidecar += line + "\n";
      }
    }
    ASSERT_NE(old_sidecar, text.str());
    std::ofstream(dir + "/first.yaml", std::ios::trunc) << old_sidecar;
  }
  EXPECT_TRUE(TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, "", dir + "/plain_again", Quiet).ok());
  smooth.action_values_only = true;
  auto values_only = TrainWorldModel(smooth, config, tokenizer, "tok", data, "", dir + "/values_only", Quiet);
  ASSERT_TRUE(values_only.ok()) << values_only.status();
  // Values only starts from the fit of the stored bins' rows, not from zero.
  EXPECT_GT(Weights(dir + "/values_only").at("action_values.weight").abs().max().item<float>(), 1e-3);

  // A run may change the steps per frame: same weights to start from, the stride in its sidecar.
  WorldModelConfig strided = SmallWorldModelConfig();
  strided.action_stride = 2;
  auto restrided = TrainWorldModel(strided, config, tokenizer, "tok", data, "", dir + "/strided", Quiet);
  ASSERT_TRUE(restrided.ok()) << restrided.status();
  for (const auto& [name, tensor] : first) {
    EXPECT_TRUE(torch::allclose(tensor, Weights(dir + "/strided").at(name), 1e-5, 1e-6)) << name;
  }
  EXPECT_EQ(ReadModelSidecar(dir + "/strided", "world_model").value().config["action_stride"].as<int64_t>(), 2);

  WorldModelConfig wider = SmallWorldModelConfig();
  wider.ffn = 96;
  absl::Status mismatch = TrainWorldModel(wider, config, tokenizer, "tok", data, "", dir + "/third", Quiet).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition) << mismatch;
  config.motion_weight = -1;
  EXPECT_EQ(TrainWorldModel(SmallWorldModelConfig(), config, tokenizer, "tok", data, "", dir + "/fourth", Quiet)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vlarft::models
