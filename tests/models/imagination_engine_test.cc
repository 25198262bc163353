#include "libs/models/imagination_engine.h"

#include "gtest/gtest.h"
#include "libs/core/rng.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::models {
namespace {

using testing::SmallTokenizerConfig;
using testing::SmallWorldModelConfig;
using testing::SyntheticFrames;
using testing::UnitActions;

ImaginationEngine MakeEngine(uint64_t seed = 0) {
  torch::manual_seed(seed);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  WorldModel model(SmallWorldModelConfig(), UnitActions());
  return ImaginationEngine::Create(tokenizer, model).value();
}

std::vector<uint64_t> Seeds(uint64_t root, int64_t n) {
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < n; ++i) seeds.push_back(core::SeedPath(root).Child(static_cast<uint64_t>(i)).seed());
  return seeds;
}

GroupJob NewJob(int64_t sequences, int64_t frames, uint64_t seed, SamplingParams sampling = {}, int64_t image = 0) {
  GroupJob job;
  job.context_frame = SyntheticFrames(image + 1, 16).select(0, image);
  torch::manual_seed(seed);
  job.actions = torch::rand({sequences, frames, 7}) * 2 - 1;
  job.seeds = Seeds(seed, sequences);
  job.sampling = sampling;
  return job;
}

SamplingParams Nucleus() {
  SamplingParams s;
  s.temperature = 0.8;
  s.top_k = 200;
  s.top_p = 0.95;
  return s;
}

TEST(GenerationTest, ShapesAndTokenRange) {
  ImaginationEngine engine = MakeEngine();
  auto result = engine.Imagine(NewJob(3, 2, 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->frames.sizes(), (std::vector<int64_t>{3, 2, 16, 16, 3}));
  EXPECT_EQ(result->frames.scalar_type(), torch::kUInt8);
  EXPECT_EQ(result->tokens.sizes(), (std::vector<int64_t>{3, 2, 4}));
  EXPECT_GE(result->tokens.min().item<int64_t>(), 0);
  EXPECT_LT(result->tokens.max().item<int64_t>(), 4375);
  EXPECT_EQ(result->session, nullptr);
}

TEST(GenerationTest, GreedyDecodingIsDeterministic) {
  ImaginationEngine engine = MakeEngine();
  SamplingParams greedy;
  greedy.greedy = true;
  auto a = engine.Imagine(NewJob(2, 3, 1, greedy));
  auto b = engine.Imagine(NewJob(2, 3, 99, greedy));  // other seeds: irrelevant when greedy
  ASSERT_TRUE(a.ok() && b.ok());
  // Same actions? No: NewJob draws actions from the seed; compare a job with itself instead.
  GroupJob job = NewJob(2, 3, 5, greedy);
  auto c = engine.Imagine(job);
  job.seeds = Seeds(1234, 2);
  auto d = engine.Imagine(job);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_TRUE(torch::equal(c->tokens, d->tokens));
  EXPECT_TRUE(torch::equal(c->frames, d->frames));
}

// Cached + shared prefix, unshared prefixes, re-prefill per frame and full recomputation produce
// the same tokens from the same seeds, and the logits they sampled from agree.
TEST(GenerationTest, AllDecodeModesAgree) {
  ImaginationEngine engine = MakeEngine(3);
  const GroupJob job = NewJob(3, 2, 7, Nucleus());
  GenerationOptions options;
  options.return_logits = true;
  options.decode_frames = false;
  auto reference = engine.Imagine(job, options);
  ASSERT_TRUE(reference.ok()) << reference.status();
  for (DecodeMode mode : {DecodeMode::kUnsharedPrefix, DecodeMode::kRePrefillPerFrame, DecodeMode::kFullRecompute}) {
    options.mode = mode;
    auto other = engine.Imagine(job, options);
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_TRUE(torch::equal(other->tokens, reference->tokens)) << static_cast<int>(mode);
    EXPECT_TRUE(torch::allclose(other->logits, reference->logits, 1e-4, 1e-4))
        << static_cast<int>(mode) << " " << (other->logits - reference->logits).abs().max();
  }
}

// Expected codes (GroupJob::expected_codes): the tokens are those of the same job without it, and
// the frames are the future decoder's image of softmax(logits) · code table — checked against the
// logits the tokens were drawn from — which differs from decoding the drawn codes. A job without the
// flag in the same batch decodes its drawn codes as before.
TEST(GenerationTest, ExpectedCodesDecodeTheMeanOfTheModelsDistribution) {
  ImaginationEngine engine = MakeEngine(4);
  for (const SamplingParams& sampling : {SamplingParams{1.0, 1, 0.0, true}, Nucleus()}) {
    GroupJob plain = NewJob(3, 2, 31, sampling);
    GroupJob expected = plain;
    expected.expected_codes = true;
    GenerationOptions options;
    options.return_logits = true;
    auto both = engine.ImagineBatch({expected, plain}, options);
    auto alone = engine.Imagine(plain, options);
    ASSERT_TRUE(both.ok() && alone.ok()) << both.status() << alone.status();
    const GroupResult& e = (*both)[0];
    EXPECT_TRUE(torch::equal(e.tokens, alone->tokens));
    EXPECT_TRUE(torch::equal((*both)[1].frames, alone->frames));

    VideoTokenizer tokenizer = engine.tokenizer();
    const Fsq& fsq = tokenizer->fsq();
    const int64_t grid = tokenizer->config().future_grid();
    const torch::Tensor table = fsq.IndicesToCodes(torch::arange(fsq.codebook_size()));  // [V, dims]
    const torch::Tensor mean_codes = torch::softmax(e.logits, -1).matmul(table)         // [S, T, g·g, dims]
                                         .reshape({6, grid, grid, fsq.dims()})
                                         .permute({0, 3, 1, 2});
    torch::NoGradGuard no_grad;
    const ContextEncoding context = tokenizer->EncodeContext(FramesToModel(plain.context_frame.unsqueeze(0), torch::kCPU));
    const torch::Tensor want = ModelToFrames(tokenizer->DecodeFuture(mean_codes, context)).view({3, 2, 16, 16, 3});
    EXPECT_LE((want.to(torch::kInt32) - e.frames.to(torch::kInt32)).abs().max().item<int>(), 1);
    EXPECT_FALSE(torch::equal(e.frames, alone->frames));
  }
}

// Static shapes (attention over the whole preallocated cache, rows padded to a bucket) decode the
// same tokens as the growing window, for a mixed batch of 5 rows padded to 8, including a kept
// session continued afterwards; logits agree within float rounding.
TEST(GenerationTest, StaticShapesDecodeTheSameTokens) {
  EXPECT_EQ(StaticRowBucket(1), 8);
  EXPECT_EQ(StaticRowBucket(5), 8);
  EXPECT_EQ(StaticRowBucket(8), 8);
  EXPECT_EQ(StaticRowBucket(17), 24);
  EXPECT_EQ(StaticRowBucket(65), 72);
  ImaginationEngine engine = MakeEngine(5);
  SamplingParams greedy;
  greedy.greedy = true;
  for (const SamplingParams& sampling : {greedy, Nucleus()}) {
    std::vector<GroupJob> jobs = {NewJob(3, 2, 21, sampling), NewJob(2, 3, 22, sampling, 1)};
    jobs[0].keep_session = true;
    GenerationOptions options;
    options.return_logits = true;
    options.decode_frames = false;
    auto growing = engine.ImagineBatch(jobs, options);
    options.static_shapes = true;
    auto fixed = engine.ImagineBatch(jobs, options);
    ASSERT_TRUE(growing.ok() && fixed.ok()) << growing.status() << fixed.status();
    for (size_t j = 0; j < jobs.size(); ++j) {
      EXPECT_TRUE(torch::equal((*fixed)[j].tokens, (*growing)[j].tokens)) << "job " << j;
      EXPECT_TRUE(torch::allclose((*fixed)[j].logits, (*growing)[j].logits, 1e-4, 1e-4))
          << (((*fixed)[j].logits - (*growing)[j].logits).abs().max());
    }
    // The kept sessions continue the same way (their caches hold the same entries).
    GroupJob next_growing, next_fixed;
    next_growing.session = (*growing)[0].session.get();
    next_fixed.session = (*fixed)[0].session.get();
    torch::manual_seed(23);
    next_growing.actions = next_fixed.actions = torch::rand({3, 2, 7}) * 2 - 1;
    next_growing.sampling = next_fixed.sampling = sampling;
    options.static_shapes = false;
    auto continued_growing = engine.Imagine(next_growing, options);
    options.static_shapes = true;
    auto continued_fixed = engine.Imagine(next_fixed, options);
    ASSERT_TRUE(continued_growing.ok() && continued_fixed.ok());
    EXPECT_TRUE(torch::equal(continued_fixed->tokens, continued_growing->tokens));
  }
}

// bf16 weights (EngineLimits::world_model_dtype): the world model's weights and caches become bf16,
// results keep their shapes and types, and the first token's logits — before the two engines'
// greedy choices can part — stay within bf16 rounding of the float32 engine's.
TEST(GenerationTest, Bf16WorldModelWeightsStayCloseToFloat32) {
  EngineLimits bf16;
  bf16.world_model_dtype = torch::kBFloat16;
  ImaginationEngine reference = MakeEngine(6);
  torch::manual_seed(6);  // the same weights as `reference`
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  WorldModel model(SmallWorldModelConfig(), UnitActions());
  auto engine = ImaginationEngine::Create(tokenizer, model, bf16);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (const auto& p : engine->world_model()->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  for (const auto& p : engine->tokenizer()->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
  SamplingParams greedy;
  greedy.greedy = true;
  GroupJob job = NewJob(3, 2, 31, greedy);
  job.keep_session = true;
  GenerationOptions options;
  options.return_logits = true;
  auto a = reference.Imagine(job, options);
  auto b = engine->Imagine(job, options);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(b->frames.sizes(), a->frames.sizes());
  EXPECT_EQ(b->frames.scalar_type(), torch::kUInt8);
  EXPECT_EQ(b->logits.scalar_type(), torch::kFloat32);
  const torch::Tensor first_a = a->logits.select(1, 0).select(1, 0), first_b = b->logits.select(1, 0).select(1, 0);
  const double scale = first_a.abs().max().item<double>();
  const double diff = (first_a - first_b).abs().max().item<double>();
  EXPECT_GT(diff, 0.0) << "the bf16 engine should not compute in float32";
  EXPECT_LT(diff, 0.03 * std::max(1.0, scale)) << "max |logit| " << scale;  // measured: 0.029 at a scale of 2.0
  // A kept bf16 session continues (its caches are bf16 too).
  GroupJob next;
  next.session = b->session.get();
  next.actions = torch::zeros({3, 1, 7});
  next.sampling = greedy;
  EXPECT_TRUE(engine->Imagine(next).ok());
  EngineLimits half;
  half.world_model_dtype = torch::kFloat16;
  torch::manual_seed(6);
  auto refused = ImaginationEngine::Create(VideoTokenizer(SmallTokenizerConfig()),
                                           WorldModel(SmallWorldModelConfig(), UnitActions()), half);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("world_model_dtype"), std::string::npos) << refused.status();
}

TEST(GenerationTest, SeedsReproduceRegardlessOfBatchComposition) {
  ImaginationEngine engine = MakeEngine(4);
  const GroupJob alone = NewJob(3, 2, 11, Nucleus());
  auto single = engine.Imagine(alone);
  ASSERT_TRUE(single.ok());
  // The same group batched with two others (different sizes, horizons, sampling, frames).
  SamplingParams hot;
  hot.temperature = 1.5;
  std::vector<GroupJob> jobs = {NewJob(5, 1, 12, hot, 1), alone, NewJob(2, 3, 13, Nucleus(), 2)};
  auto batched = engine.ImagineBatch(jobs);
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_EQ(batched->size(), 3u);
  EXPECT_TRUE(torch::equal((*batched)[1].tokens, single->tokens));
  EXPECT_TRUE(torch::equal((*batched)[1].frames, single->frames));
  EXPECT_EQ((*batched)[0].tokens.sizes(), (std::vector<int64_t>{5, 1, 4}));
  EXPECT_EQ((*batched)[2].tokens.sizes(), (std::vector<int64_t>{2, 3, 4}));
  // A sequence's result does not depend on its group-mates either: sequence 0 alone.
  GroupJob first = alone;
  first.actions = alone.actions.narrow(0, 0, 1);
  first.seeds = {alone.seeds[0]};
  auto one = engine.Imagine(first);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(torch::equal(one->tokens[0], single->tokens[0]));
  // Different seeds give different samples.
  GroupJob reseeded = alone;
  reseeded.seeds = Seeds(999, 3);
  EXPECT_FALSE(torch::equal(engine.Imagine(reseeded)->tokens, single->tokens));
}

TEST(GenerationTest, SessionsContinueExactlyLikeOneLongCall) {
  ImaginationEngine engine = MakeEngine(5);
  const GroupJob whole = NewJob(2, 4, 21, Nucleus());
  auto once = engine.Imagine(whole);
  ASSERT_TRUE(once.ok());

  GroupJob start = whole;
  start.actions = whole.actions.narrow(1, 0, 2);
  start.keep_session = true;
  auto first = engine.Imagine(start);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE(first->session, nullptr);
  EXPECT_EQ(first->session->frames(), 2);
  EXPECT_GT(first->session->Bytes(), 0);
  // Continue in a batch together with a fresh group.
  GroupJob next;
  next.session = first->session.get();
  next.actions = whole.actions.narrow(1, 2, 2);
  next.sampling = Nucleus();
  auto second = engine.ImagineBatch({NewJob(3, 1, 22), next});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->session->frames(), 4);
  EXPECT_TRUE(torch::equal(torch::cat({first->tokens, (*second)[1].tokens}, 1), once->tokens));
  EXPECT_TRUE(torch::equal((*second)[1].frames, once->frames.narrow(1, 2, 2)));
}

TEST(GenerationTest, StridedModelImaginesOneFrameEveryKStepsFromTheirSummedActions) {
  // Same weights (same seed, same shapes), one frame per step vs one frame per 2 steps.
  torch::manual_seed(3);
  VideoTokenizer tokenizer(SmallTokenizerConfig());
  WorldModelConfig every_step = SmallWorldModelConfig();
  torch::manual_seed(4);
  WorldModel plain(every_step, UnitActions());
  WorldModelConfig every_other = every_step;
  every_other.action_stride = 2;
  torch::manual_seed(4);
  WorldModel strided(every_other, UnitActions());
  ImaginationEngine plain_engine = ImaginationEngine::Create(tokenizer, plain).value();
  ImaginationEngine strided_engine = ImaginationEngine::Create(tokenizer, strided).value();
  SamplingParams greedy;
  greedy.top_k = 1;
  GroupJob steps = NewJob(3, 4, 11, greedy);
  steps.actions = steps.actions * 0.5;  // keeps the 2-step sums inside the bins' range
  GroupJob frames = steps;
  frames.actions = SumActionSteps(steps.actions, 2).value();
  auto by_steps = strided_engine.Imagine(steps);
  auto by_frames = plain_engine.Imagine(frames);
  ASSERT_TRUE(by_steps.ok()) << by_steps.status();
  ASSERT_TRUE(by_frames.ok()) << by_frames.status();
  EXPECT_EQ(by_steps->frames.sizes(), (std::vector<int64_t>{3, 2, 16, 16, 3}));
  EXPECT_TRUE(torch::equal(by_steps->tokens, by_frames->tokens));
  EXPECT_TRUE(torch::equal(by_steps->frames, by_frames->frames));
  // Steps that do not fill whole frames are refused by name.
  absl::Status odd = strided_engine.Imagine(NewJob(3, 3, 11, greedy)).status();
  EXPECT_EQ(odd.code(), absl::StatusCode::kInvalidArgument) << odd;
  EXPECT_NE(odd.message().find("action_stride"), std::string::npos) << odd;
}

TEST(GenerationTest, BadInputsAreNamedErrors) {
  ImaginationEngine engine = MakeEngine();
  auto expect_invalid = [&](const GroupJob& job, const std::string& fragment) {
    absl::Status status = engine.Imagine(job).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status;
  };
  GroupJob wrong_size = NewJob(2, 1, 1);
  wrong_size.context_frame = torch::zeros({32, 32, 3}, torch::kUInt8);
  expect_invalid(wrong_size, "context_frame");
  GroupJob nan = NewJob(2, 1, 1);
  nan.actions[1][0][3] = std::numeric_limits<float>::quiet_NaN();
  expect_invalid(nan, "actions");
  GroupJob wrong_dims = NewJob(2, 1, 1);
  wrong_dims.actions = torch::zeros({2, 1, 6});
  expect_invalid(wrong_dims, "actions");
  expect_invalid(NewJob(2, 9, 1), "horizon");  // max_frames = 8
  GroupJob empty_horizon = NewJob(2, 1, 1);
  empty_horizon.actions = torch::zeros({2, 0, 7});
  expect_invalid(empty_horizon, "horizon");
  expect_invalid(NewJob(65, 1, 1), "group size");
  GroupJob seeds = NewJob(2, 1, 1);
  seeds.seeds.pop_back();
  expect_invalid(seeds, "seeds");
  SamplingParams cold;
  cold.temperature = 0;
  expect_invalid(NewJob(2, 1, 1, cold), "temperature");
  GroupJob neither = NewJob(2, 1, 1);
  neither.context_frame = torch::Tensor();
  expect_invalid(neither, "exactly one");
  EXPECT_EQ(engine.ImagineBatch({}).status().code(), absl::StatusCode::kInvalidArgument);

  // Continuing past max_frames.
  GroupJob start = NewJob(2, 6, 1);
  start.keep_session = true;
  auto kept = engine.Imagine(start);
  ASSERT_TRUE(kept.ok());
  GroupJob more;
  more.session = kept->session.get();
  more.actions = torch::zeros({2, 3, 7});
  expect_invalid(more, "horizon");
  more.actions = torch::zeros({3, 1, 7});
  expect_invalid(more, "session has 2");
}

TEST(GenerationTest, MismatchedTokenizerIsRejected) {
  TokenizerConfig other = SmallTokenizerConfig();
  other.future_downsample = 4;
  absl::StatusOr<ImaginationEngine> engine =
      ImaginationEngine::Create(VideoTokenizer(other), WorldModel(SmallWorldModelConfig(), UnitActions()));
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vlarft::models
