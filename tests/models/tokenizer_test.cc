#include "libs/models/tokenizer.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::models {
namespace {

using testing::SmallTokenizerConfig;
using testing::SyntheticFrames;

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_tok_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(TokenizerTest, PresetGeometry) {
  TokenizerConfig tiny;  // defaults are the tiny preset
  EXPECT_EQ(tiny.context_grid(), 16);
  EXPECT_EQ(tiny.future_grid(), 4);
  EXPECT_EQ(tiny.codebook_size(), 4375);
  TokenizerConfig paper;
  paper.image_size = 256;
  paper.context_downsample = 8;
  paper.future_downsample = 32;
  EXPECT_TRUE(paper.Validate().ok());
  EXPECT_EQ(paper.context_tokens(), 1024);
  EXPECT_EQ(paper.future_tokens(), 64);
  TokenizerConfig bad;
  bad.future_downsample = 2;
  EXPECT_EQ(bad.Validate().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerTest, ShapesOfEveryStage) {
  torch::manual_seed(0);
  const TokenizerConfig config = SmallTokenizerConfig();
  VideoTokenizer tokenizer(config);
  const torch::Tensor context = FramesToModel(SyntheticFrames(2, 16), torch::kCPU);
  const ContextEncoding ctx = tokenizer->EncodeContext(context);
  EXPECT_EQ(ctx.codes.sizes(), (std::vector<int64_t>{2, 5, 4, 4}));
  EXPECT_EQ(ctx.indices.sizes(), (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(static_cast<int64_t>(ctx.encoder_features.size()), config.context_scales());
  EXPECT_GE(ctx.indices.min().item<int64_t>(), 0);
  EXPECT_LT(ctx.indices.max().item<int64_t>(), 4375);

  // Three futures per context.
  const torch::Tensor future = FramesToModel(SyntheticFrames(6, 16, 2), torch::kCPU);
  auto [codes, indices] = tokenizer->EncodeFuture(future, ctx);
  EXPECT_EQ(codes.sizes(), (std::vector<int64_t>{6, 5, 2, 2}));
  EXPECT_EQ(indices.sizes(), (std::vector<int64_t>{6, 4}));
  EXPECT_TRUE(torch::equal(tokenizer->CodesFromIndices(indices, 2), codes));

  const torch::Tensor decoded = tokenizer->DecodeContext(ctx.codes);
  EXPECT_EQ(decoded.sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  EXPECT_EQ(tokenizer->DecodeFuture(codes, ctx).sizes(), (std::vector<int64_t>{6, 3, 16, 16}));
  // The residual future decoder starts close to "nothing changed": the context frame.
  const torch::Tensor change = tokenizer->DecodeFuture(codes, ctx).narrow(0, 0, 3) - context.narrow(0, 0, 1);
  EXPECT_LT(change.abs().mean().item<double>(), 0.1);

  const torch::Tensor pixels = ModelToFrames(decoded);
  EXPECT_EQ(pixels.sizes(), (std::vector<int64_t>{2, 16, 16, 3}));
  EXPECT_EQ(pixels.scalar_type(), torch::kUInt8);
}

TEST(TokenizerTest, PerceptualDistanceIsZeroOnlyForIdenticalImages) {
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  const torch::Tensor a = FramesToModel(SyntheticFrames(2, 16), torch::kCPU);
  const torch::Tensor b = FramesToModel(SyntheticFrames(2, 16, 5), torch::kCPU);
  const torch::Tensor same = tokenizer->PerceptualDistance(a, a);
  const torch::Tensor different = tokenizer->PerceptualDistance(a, b);
  EXPECT_EQ(same.sizes(), (std::vector<int64_t>{2}));
  EXPECT_LT(same.abs().max().item<double>(), 1e-6);
  EXPECT_GT(different.min().item<double>(), 1e-4);
  auto features = tokenizer->MultiScaleFeaturesOfFrames(SyntheticFrames(3, 16));
  ASSERT_TRUE(features.ok()) << features.status();
  EXPECT_EQ(static_cast<int64_t>(features->size()), SmallTokenizerConfig().context_scales());
  EXPECT_EQ(features->front().size(0), 3);
}

TEST(TokenizerTest, ValidatedApiNamesBadInputs) {
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  absl::Status wrong_size = tokenizer->TokenizeContext(torch::zeros({1, 32, 32, 3}, torch::kUInt8)).status();
  EXPECT_EQ(wrong_size.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_size.message().find("frames"), std::string::npos) << wrong_size;
  EXPECT_EQ(tokenizer->TokenizeContext(torch::zeros({1, 16, 16, 3})).status().code(),
            absl::StatusCode::kInvalidArgument);  // float, not uint8
  auto dyn = tokenizer->TokenizeFuture(SyntheticFrames(4, 16).view({2, 2, 16, 16, 3}), SyntheticFrames(2, 16));
  ASSERT_TRUE(dyn.ok()) << dyn.status();
  EXPECT_EQ(dyn->sizes(), (std::vector<int64_t>{2, 2, 4}));
}

TEST(TokenizerTest, CheckpointRoundTripAtReducedPrecisionAndStrictErrors) {
  const std::string dir = TempDir("ckpt");
  torch::manual_seed(0);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  tokenizer->eval();
  ASSERT_TRUE(SaveTokenizer(dir + "/full", tokenizer, 7).ok());
  ASSERT_TRUE(SaveTokenizer(dir + "/half", tokenizer, 7, torch::kFloat16).ok());
  EXPECT_LT(std::filesystem::file_size(dir + "/half.safetensors"), std::filesystem::file_size(dir + "/full.safetensors"));

  const torch::Tensor frames = FramesToModel(SyntheticFrames(2, 16), torch::kCPU);
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = tokenizer->DecodeContext(tokenizer->EncodeContext(frames).codes);
  auto full = LoadTokenizer(dir + "/full", torch::kCPU);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(torch::equal((*full)->DecodeContext((*full)->EncodeContext(frames).codes), expected));
  auto half = LoadTokenizer(dir + "/half", torch::kCPU);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ((*half)->parameters().front().scalar_type(), torch::kFloat32);

  // A sidecar describing a different architecture fails on the weights, naming a tensor, and a
  // sidecar of the wrong kind fails before anything is read.
  std::ifstream in(dir + "/full.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::copy_file(dir + "/full.safetensors", dir + "/wide.safetensors");
  std::ofstream(dir + "/wide.yaml") << std::string(yaml).replace(yaml.find("base_channels: 8"), 16, "base_channels: 4");
  absl::Status mismatch = LoadTokenizer(dir + "/wide", torch::kCPU).status();
  EXPECT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.message().find("context_encoder"), std::string::npos) << mismatch;
  std::filesystem::copy_file(dir + "/full.safetensors", dir + "/kind.safetensors");
  std::ofstream(dir + "/kind.yaml") << std::string(yaml).replace(yaml.find("kind: tokenizer"), 15, "kind: policy");
  EXPECT_EQ(LoadTokenizer(dir + "/kind", torch::kCPU).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vlarft::models
