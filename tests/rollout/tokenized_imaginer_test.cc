// TokenizedImaginer (libs/rollout/tokenized_imaginer.h): every chunk of the inner backend comes
// back as the tokenizer's round trip of it against the prompt's frame — the same as encoding and
// decoding the frames by hand — the ground truth is the inner backend's, and bad shapes are named
// errors, not torch exceptions.
#include "libs/rollout/tokenized_imaginer.h"

#include "gtest/gtest.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::rollout {
namespace {

// Frames of noise from a fixed seed (one per chunk); progress = the sample index. `frame_size`
// lets a test make it return frames the tokenizer cannot take.
class NoiseImaginer : public Imaginer {
 public:
  explicit NoiseImaginer(int64_t frame_size) : frame_size_(frame_size) {}
  std::string name() const override { return "noise"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt&, const ImagineSettings&) override {
    return std::unique_ptr<ImaginationSession>(new Session(frame_size_));
  }

 private:
  struct Session : ImaginationSession {
    explicit Session(int64_t size) : size(size) {}
    absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor&) override {
      torch::manual_seed(41 + chunks++);
      const int64_t g = actions.size(0), c = actions.size(1);
      groups = g;
      return ImaginedChunk{torch::randint(0, 256, {g, c, size, size, 3}).to(torch::kUInt8),
                           torch::randint(0, 256, {c, size, size, 3}).to(torch::kUInt8)};
    }
    absl::StatusOr<GroundTruth> Outcome() override {
      return GroundTruth{torch::ones({groups}, torch::kBool), torch::arange(groups).to(torch::kFloat32)};
    }
    int64_t size, chunks = 0, groups = 0;
  };
  int64_t frame_size_;
};

Prompt MakePrompt(int64_t size) {
  Prompt prompt;
  torch::manual_seed(5);
  prompt.frame = torch::randint(0, 256, {size, size, 3}).to(torch::kUInt8);
  return prompt;
}

TEST(TokenizedImaginerTest, ReturnsTheTokenizersRoundTripOfEachChunkAndTheInnerGroundTruth) {
  torch::manual_seed(0);
  models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());
  NoiseImaginer inner(16);
  NoiseImaginer twin(16);  // the same frames, to round-trip by hand
  TokenizedImaginer tokenized(&inner, tokenizer);
  const Prompt prompt = MakePrompt(16);
  ImagineSettings settings;
  settings.group_size = 3;
  settings.horizon = 2;
  auto session = tokenized.Start(prompt, settings);
  auto raw = twin.Start(prompt, settings);
  ASSERT_TRUE(session.ok() && raw.ok()) << session.status();
  const torch::Tensor actions = torch::zeros({3, 2, 7}), expert = torch::zeros({2, 7});
  for (int chunk = 0; chunk < 2; ++chunk) {
    auto got = (*session)->Next(actions, expert);
    auto real = (*raw)->Next(actions, expert);
    ASSERT_TRUE(got.ok() && real.ok()) << got.status();
    // Every chunk is encoded against the prompt's frame (the world model's fixed context o_t).
    const torch::Tensor want = models::RoundTripFutureFrames(
        *tokenizer, prompt.frame, torch::cat({real->frames, real->reference.unsqueeze(0)}));
    EXPECT_TRUE(torch::equal(got->frames, want.narrow(0, 0, 3))) << "chunk " << chunk;
    EXPECT_TRUE(torch::equal(got->reference, want[3])) << "chunk " << chunk;
    EXPECT_EQ(got->frames.scalar_type(), torch::kUInt8);
    EXPECT_FALSE(torch::equal(got->frames, real->frames));  // an untrained tokenizer is far from exact
  }
  auto truth = (*session)->Outcome();
  ASSERT_TRUE(truth.ok()) << truth.status();
  EXPECT_TRUE(torch::equal(truth->progress, torch::arange(3).to(torch::kFloat32)));
}

TEST(TokenizedImaginerTest, FramesTheTokenizerCannotTakeAreNamedErrors) {
  models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());  // 16 x 16 frames
  NoiseImaginer inner(16);
  TokenizedImaginer tokenized(&inner, tokenizer);
  auto wrong_prompt = tokenized.Start(MakePrompt(32), {});
  ASSERT_FALSE(wrong_prompt.ok());
  EXPECT_EQ(wrong_prompt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_prompt.status().message().find("[16, 16, 3]"), std::string::npos) << wrong_prompt.status();

  NoiseImaginer wrong_inner(8);
  TokenizedImaginer mismatched(&wrong_inner, tokenizer);
  auto session = mismatched.Start(MakePrompt(16), {});
  ASSERT_TRUE(session.ok()) << session.status();
  auto chunk = (*session)->Next(torch::zeros({2, 2, 7}), torch::zeros({2, 7}));
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(chunk.status().message().find("[2, 2, 8, 8, 3]"), std::string::npos) << chunk.status();
}

}  // namespace
}  // namespace vlarft::rollout
