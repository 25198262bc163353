#include "libs/models/world_model.h"

#include <cmath>
#include <filesystem>

#include "gtest/gtest.h"
#include "libs/models/action_normalizer.h"
#include "libs/models/layers.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::models {
namespace {

using testing::SmallTokenizerConfig;
using testing::SmallWorldModelConfig;
using testing::UnitActions;

TEST(WorldModelTest, VocabularyLayoutIsDocumented) {
  WorldModelConfig config;  // tiny preset geometry
  EXPECT_EQ(config.future_offset(), 0);
  EXPECT_EQ(config.context_offset(), 4375);
  EXPECT_EQ(config.action_offset(), 8750);
  EXPECT_EQ(config.bos_token(), 9006);
  EXPECT_EQ(config.pad_token(), 9007);
  EXPECT_EQ(config.vocab_size(), 9008);
  EXPECT_EQ(config.prompt_length(), 1 + 256 + 16);
  EXPECT_EQ(config.SequenceLength(8), 273 + 8 * 23);
}

TEST(WorldModelTest, ActionBinningUsesTheSharedNormalisation) {
  WorldModelConfig config = SmallWorldModelConfig();
  auto stats = ActionNormalizer::Create({0, -2, 0, 0, 0, 0, -1}, {1, 2, 0, 0, 0, 0, 1}).value();
  WorldModel model(config, stats);
  // dim 0: a = 0.5 -> n = 0 -> bin 128; dim 1: a = 2 -> n = 1 -> bin 255 (clipped top);
  // dim 2: max == min -> n = 0 -> 128; dim 6: a = -5 -> clipped to -1 -> bin 0.
  const torch::Tensor actions = torch::tensor({0.5f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f, -5.0f}).view({1, 7});
  const torch::Tensor tokens = model->ActionTokens(actions) - config.action_offset();
  EXPECT_EQ(tokens[0][0].item<int64_t>(), 128);
  EXPECT_EQ(tokens[0][1].item<int64_t>(), 255);
  EXPECT_EQ(tokens[0][2].item<int64_t>(), 128);
  EXPECT_EQ(tokens[0][6].item<int64_t>(), 0);
  // Same bins as ActionNormalizer, the policy's convention.
  EXPECT_TRUE(torch::equal(tokens, ActionNormalizer::ToBins(stats.Normalize(actions), 256)));
}

TEST(WorldModelTest, HuggingFaceParameterNames) {
  WorldModel model(SmallWorldModelConfig(), UnitActions());
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) names.insert(item.key());
  for (const char* name : {"embed_tokens.weight", "layers.0.self_attn.q_proj.weight", "layers.1.self_attn.o_proj.weight",
                           "layers.0.mlp.gate_proj.weight", "layers.0.mlp.up_proj.weight", "layers.0.mlp.down_proj.weight",
                           "layers.0.input_layernorm.weight", "layers.0.post_attention_layernorm.weight", "norm.weight",
                           "lm_head.weight"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

TEST(WorldModelTest, SequenceLayoutAndLossPositions) {
  const WorldModelConfig config = SmallWorldModelConfig();  // 16 ctx, 4 dyn, 7 action tokens
  WorldModel model(config, UnitActions());
  const torch::Tensor ctx = torch::arange(16).view({1, 16});
  const torch::Tensor dyn = torch::arange(12).view({1, 3, 4}) + 100;
  const torch::Tensor actions = torch::full({1, 2, 7}, config.action_offset() + 5, torch::kInt64);
  const torch::Tensor seq = model->BuildSequence(ctx, dyn, actions);
  ASSERT_EQ(seq.size(1), config.SequenceLength(2));
  EXPECT_EQ(seq[0][0].item<int64_t>(), config.bos_token());
  EXPECT_EQ(seq[0][1].item<int64_t>(), config.context_offset());
  EXPECT_EQ(seq[0][17].item<int64_t>(), 100);                          // dyn(o_t)
  EXPECT_EQ(seq[0][21].item<int64_t>(), config.action_offset() + 5);  // a_t
  EXPECT_EQ(seq[0][28].item<int64_t>(), 104);                          // dyn(o_t+1)
  EXPECT_EQ(seq[0][39].item<int64_t>(), 108);                          // dyn(o_t+2)
  auto [inputs, targets] = model->LossPositions(2);
  ASSERT_EQ(targets.numel(), 8);
  EXPECT_EQ(targets[0].item<int64_t>(), 28);
  EXPECT_EQ(targets[4].item<int64_t>(), 39);
  EXPECT_TRUE(torch::equal(seq.index_select(1, targets).view({2, 4}), dyn[0].narrow(0, 1, 2)));
  EXPECT_TRUE(torch::equal(inputs + 1, targets));
}

// The cached path (prefill a shared prefix once, then extend rows in steps of different sizes)
// must reproduce the full causal forward.
TEST(WorldModelTest, CachedExtensionMatchesFullForward) {
  torch::manual_seed(1);
  const WorldModelConfig config = SmallWorldModelConfig();
  WorldModel model(config, UnitActions());
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t prefix_length = 10, extra = 9;
  // Two groups (sizes 3 and 2) with their own prefixes; rows differ after the prefix.
  const torch::Tensor prefixes = torch::randint(0, config.vocab_size(), {2, prefix_length});
  const torch::Tensor suffixes = torch::randint(0, config.vocab_size(), {5, extra});
  const torch::Tensor owner = torch::tensor({0, 0, 0, 1, 1});
  const torch::Tensor full = torch::cat({prefixes.index_select(0, owner), suffixes}, 1);
  const torch::Tensor expected = model->forward(full).narrow(1, prefix_length, extra);

  const PrefixCache prefix = model->Prefill(prefixes);
  SuffixCache cache = model->NewSuffixCache(5, extra);
  std::vector<torch::Tensor> logits;
  int64_t done = 0;
  for (int64_t step : {4, 1, 1, 3}) {
    logits.push_back(model->Logits(model->Extend(suffixes.narrow(1, done, step), prefix, RowGroups{{3, 2}}, cache)));
    done += step;
  }
  const torch::Tensor cached = torch::cat(logits, 1);
  EXPECT_TRUE(torch::allclose(cached, expected, 1e-4, 1e-4)) << (cached - expected).abs().max();
  // Uniform groups (the common case) take the folded fast path; rows of equal groups.
  const torch::Tensor uniform_owner = torch::tensor({0, 0, 1, 1});
  const torch::Tensor full2 = torch::cat({prefixes.index_select(0, uniform_owner), suffixes.narrow(0, 0, 4)}, 1);
  const torch::Tensor expected2 = model->forward(full2).narrow(1, prefix_length, extra);
  SuffixCache cache2 = model->NewSuffixCache(4, extra);
  const torch::Tensor cached2 =
      model->Logits(model->Extend(suffixes.narrow(0, 0, 4), model->Prefill(prefixes), RowGroups{{2, 2}}, cache2));
  EXPECT_TRUE(torch::allclose(cached2, expected2, 1e-4, 1e-4)) << (cached2 - expected2).abs().max();
}

TEST(WorldModelTest, StaticWindowKeepsEveryStepTheSameShape) {
  SuffixCache growing(1, 2, 2, 12, 4, torch::TensorOptions(torch::kFloat32), {0, 3});
  SuffixCache fixed(1, 2, 2, 12, 4, torch::TensorOptions(torch::kFloat32), {0, 3}, /*static_window=*/true);
  const SuffixCache::Step g = growing.BeginStep(2, 5), f = fixed.BeginStep(2, 5);
  EXPECT_EQ(g.key_length, 5);   // the longest row's 3 slots + 2 new
  EXPECT_EQ(f.key_length, 12);  // always the capacity
  EXPECT_EQ(f.mask.sizes(), (std::vector<int64_t>{2, 1, 2, 12}));
  EXPECT_TRUE(torch::equal(f.positions, g.positions));
  // The static mask is the growing one, extended with "may not attend" for every later slot.
  EXPECT_TRUE(torch::equal(f.mask.narrow(-1, 0, 5), g.mask));
  EXPECT_FALSE(f.mask.narrow(-1, 5, 7).any().item<bool>());
  fixed.Advance(9);  // rows at 9 and 12 slots: one more token would overflow either way
  EXPECT_THROW(fixed.BeginStep(1, 5), c10::Error);
}

TEST(WorldModelTest, RowsWithDifferentCacheLengthsDecodeTogether) {
  torch::manual_seed(2);
  const WorldModelConfig config = SmallWorldModelConfig();
  WorldModel model(config, UnitActions());
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor prefix_tokens = torch::randint(0, config.vocab_size(), {1, 6});
  const torch::Tensor long_row = torch::randint(0, config.vocab_size(), {1, 8});
  const PrefixCache prefix = model->Prefill(prefix_tokens);
  // Row 0 has already consumed 5 tokens, row 1 none; both then take 3 tokens in one step.
  SuffixCache first = model->NewSuffixCache(1, 8);
  model->Extend(long_row.narrow(1, 0, 5), prefix, RowGroups{{1}}, first);
  SuffixCache mixed = model->NewSuffixCache(2, 8, {5, 0});
  for (int64_t layer = 0; layer < config.layers; ++layer) {
    auto [k, v] = first.Extract(layer, 0, 1, 5);
    mixed.Load(layer, 0, k, v);
  }
  const torch::Tensor step = torch::cat({long_row.narrow(1, 5, 3), long_row.narrow(1, 0, 3)}, 0);
  const torch::Tensor logits = model->Logits(model->Extend(step, prefix, RowGroups{{2}}, mixed));
  const torch::Tensor expected_long = model->forward(torch::cat({prefix_tokens, long_row}, 1)).narrow(1, 11, 3);
  const torch::Tensor expected_short =
      model->forward(torch::cat({prefix_tokens, long_row.narrow(1, 0, 3)}, 1)).narrow(1, 6, 3);
  EXPECT_TRUE(torch::allclose(logits[0], expected_long[0], 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(logits[1], expected_short[0], 1e-4, 1e-4));
}

TEST(WorldModelTest, ActionValuesAreSmoothStartAtZeroAndTouchOnlyActionTokens) {
  torch::manual_seed(4);
  WorldModelConfig config = SmallWorldModelConfig();
  config.action_features = 3;
  EXPECT_EQ(config.action_feature_width(), 7);
  WorldModel model(config, UnitActions());
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = torch::randint(0, config.vocab_size(), {3, 40});
  const torch::Tensor is_action =
      tokens.ge(config.action_offset()).logical_and(tokens.lt(config.action_offset() + config.action_bins));
  ASSERT_GT(is_action.sum().item<int64_t>(), 0);
  // The projection starts at zero: the same function as the bins-only model with the same weights.
  EXPECT_TRUE(torch::equal(model->Embed(tokens), model->embed_tokens(tokens)));
  WorldModelConfig plain_config = config;
  plain_config.action_features = 0;
  WorldModel plain(plain_config, UnitActions());
  plain->eval();
  for (const auto& p : plain->named_parameters()) p.value().copy_(model->named_parameters()[p.key()]);
  EXPECT_TRUE(torch::allclose(model->forward(tokens), plain->forward(tokens), 1e-6, 1e-6));

  model->action_values->weight.normal_(0.0, 0.5);
  const torch::Tensor moved = (model->Embed(tokens) - model->embed_tokens(tokens)).abs().amax(-1);
  EXPECT_TRUE(torch::all(moved.masked_select(is_action).gt(0)).item<bool>());
  EXPECT_EQ(moved.masked_select(is_action.logical_not()).max().item<float>(), 0.0f);
  // Neighbouring bins get nearer inputs than distant ones (the bin table alone learned no such order).
  const torch::Tensor bins = torch::tensor({100, 101, 200}) + config.action_offset();
  const torch::Tensor e = model->Embed(bins) - model->embed_tokens(bins);
  EXPECT_LT((e[0] - e[1]).norm().item<float>(), (e[0] - e[2]).norm().item<float>());
  const torch::Tensor f = ActionValueFeatures(torch::tensor({0.25f}), 2);
  EXPECT_TRUE(torch::allclose(f, torch::tensor({{0.25f, std::sin(0.25f * static_cast<float>(M_PI)),
                                                  std::cos(0.25f * static_cast<float>(M_PI)), 1.0f, 0.0f}}),
                              1e-6, 1e-6))
      << f;

  // The cached decoding paths embed the same way as the full pass.
  const PrefixCache prefix = model->Prefill(tokens.narrow(1, 0, 25));
  SuffixCache cache = model->NewSuffixCache(3, 15);
  const torch::Tensor cached = model->Logits(model->Extend(tokens.narrow(1, 25, 15), prefix, RowGroups{{1, 1, 1}}, cache));
  const torch::Tensor full = model->forward(tokens).narrow(1, 25, 15);
  EXPECT_TRUE(torch::allclose(cached, full, 1e-4, 1e-4)) << (cached - full).abs().max();

  config.action_features = 17;
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument);
  config.action_features = 0;
  config.action_values_only = true;
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WorldModelTest, ValuesOnlyIgnoresTheBinsRowsAndStartsFromTheirSmoothFit) {
  torch::manual_seed(5);
  WorldModelConfig config = SmallWorldModelConfig();
  config.action_features = 2;
  config.action_values_only = true;
  WorldModel model(config, UnitActions());
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t bins = config.action_bins, width = config.action_feature_width();
  // Table rows that are exactly a smooth function of the bin centre: the fit recovers it, so the
  // values-only embedding of every action token equals its old table row.
  const torch::Tensor truth = torch::randn({config.dim, width});
  const torch::Tensor centres = ActionNormalizer::FromBins(torch::arange(bins), bins);
  model->embed_tokens->weight.narrow(0, config.action_offset(), bins)
      .copy_(ActionValueFeatures(centres, config.action_features).matmul(truth.t()));
  model->FitActionValuesToTable();
  EXPECT_TRUE(torch::allclose(model->action_values->weight, truth, 1e-4, 1e-4));
  const torch::Tensor actions = torch::arange(bins).view({4, -1}) + config.action_offset();
  const torch::Tensor embedded = model->Embed(actions);
  EXPECT_TRUE(torch::allclose(embedded, model->embed_tokens(actions), 1e-4, 1e-4));
  // Now the rows are not read at all: scrambling them changes nothing; other tokens still use theirs.
  model->embed_tokens->weight.narrow(0, config.action_offset(), bins).normal_();
  EXPECT_TRUE(torch::allclose(model->Embed(actions), embedded, 1e-6, 1e-6));
  const torch::Tensor codes = torch::arange(10).view({1, 10});
  EXPECT_TRUE(torch::equal(model->Embed(codes), model->embed_tokens(codes)));
}

TEST(WorldModelTest, SumActionStepsSumsDeltasAndKeepsTheLastGripperCommand) {
  // Two sequences of 4 steps, 3-D actions (two deltas and a gripper command), summed 2 at a time.
  const torch::Tensor actions = torch::arange(24, torch::kFloat32).reshape({2, 4, 3});
  auto summed = SumActionSteps(actions, 2);
  ASSERT_TRUE(summed.ok()) << summed.status();
  ASSERT_EQ(summed->sizes(), (std::vector<int64_t>{2, 2, 3}));
  // Sequence 0, frame 1 = steps 2 and 3: (6 + 9, 7 + 10, gripper of step 3 = 11).
  EXPECT_FLOAT_EQ((*summed)[0][1][0].item<float>(), 15.0f);
  EXPECT_FLOAT_EQ((*summed)[0][1][1].item<float>(), 17.0f);
  EXPECT_FLOAT_EQ((*summed)[0][1][2].item<float>(), 11.0f);
  // Sequence 1, frame 0 = steps 0 and 1 of sequence 1: (12 + 15, 13 + 16, 17).
  EXPECT_FLOAT_EQ((*summed)[1][0][0].item<float>(), 27.0f);
  EXPECT_FLOAT_EQ((*summed)[1][0][2].item<float>(), 17.0f);
  // The input is untouched, k = 1 is the identity, and 4 steps do not divide by 3.
  EXPECT_FLOAT_EQ(actions[0][1][2].item<float>(), 5.0f);
  EXPECT_TRUE(torch::equal(SumActionSteps(actions, 1).value(), actions));
  absl::Status uneven = SumActionSteps(actions, 3).status();
  EXPECT_EQ(uneven.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(uneven.message().find("action_stride"), std::string::npos) << uneven;
  WorldModelConfig config = testing::SmallWorldModelConfig();
  config.action_stride = 0;
  EXPECT_NE(config.Validate().message().find("action_stride"), std::string::npos) << config.Validate();
}

TEST(WorldModelTest, CheckpointRoundTripAndTokenizerMismatch) {
  const std::string dir = ::testing::TempDir() + "/vlarft_wm_ckpt_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  torch::manual_seed(3);
  WorldModel model(SmallWorldModelConfig(), UnitActions());
  model->eval();
  ASSERT_TRUE(SaveWorldModel(dir + "/wm", model, 11, torch::kFloat16).ok());
  auto loaded = LoadWorldModel(dir + "/wm", torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->config().dim, 32);
  EXPECT_EQ((*loaded)->action_normalizer().max(), std::vector<double>(7, 1.0));
  const torch::Tensor tokens = torch::randint(0, 9008, {1, 12});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose((*loaded)->forward(tokens), model->forward(tokens), 1e-2, 1e-2));

  TokenizerConfig other = SmallTokenizerConfig();
  other.future_downsample = 4;  // 4×4 future grid = 16 tokens, the model expects 4
  absl::Status mismatch = CheckTokenizerMatches((*loaded)->config(), other);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(mismatch.message().find("future_tokens"), std::string::npos) << mismatch;
  EXPECT_FALSE(LoadWorldModel(dir + "/missing", torch::kCPU).ok());

  // The action-value projection is saved, and a loaded model uses it.
  WorldModelConfig smooth = SmallWorldModelConfig();
  smooth.action_features = 2;
  WorldModel with_values(smooth, UnitActions());
  with_values->eval();
  with_values->action_values->weight.normal_(0.0, 0.5);
  ASSERT_TRUE(SaveWorldModel(dir + "/smooth", with_values, 5).ok());
  auto reloaded = LoadWorldModel(dir + "/smooth", torch::kCPU);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)->config().action_features, 2);
  const torch::Tensor actions = torch::arange(8750, 8760).view({1, 10});
  EXPECT_TRUE(torch::allclose((*reloaded)->forward(actions), with_values->forward(actions), 1e-5, 1e-5));
}

}  // namespace
}  // namespace vlarft::models
