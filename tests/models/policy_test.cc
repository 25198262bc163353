#include "libs/models/policy.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "gtest/gtest.h"
#include "tests/models/policy_test_util.h"

namespace vlarft::models {
namespace {

using testing::MakeTinyPolicy;
using testing::TinyObservation;
using testing::TinyPolicyConfig;

TEST(InstructionTokenizerTest, EncodesKnownWordsAndRejectsOrSpellsUnknownOnes) {
  InstructionTokenizer tokenizer = InstructionTokenizer::Build({"Pick up the red cube.", "put it down"});
  EXPECT_EQ(tokenizer.words(), (std::vector<std::string>{".", "cube", "down", "it", "pick", "put", "red", "the", "up"}));
  auto ids = tokenizer.Encode("pick up the RED cube", false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 6u);
  EXPECT_EQ((*ids)[0], InstructionTokenizer::kBos);
  EXPECT_EQ((*ids)[1], InstructionTokenizer::kFirstWord + 4);  // "pick"

  auto unknown = tokenizer.Encode("pick up the blue cube", false);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'blue'"), std::string::npos);
  auto spelled = tokenizer.Encode("blue", true);
  ASSERT_TRUE(spelled.ok());
  EXPECT_EQ(*spelled, (std::vector<int64_t>{InstructionTokenizer::kBos, 1 + 'b', 1 + 'l', 1 + 'u', 1 + 'e'}));

  torch::Tensor batch_ids, mask;
  ASSERT_TRUE(tokenizer.EncodeBatch({"pick up", "put it down ."}, 6, false, &batch_ids, &mask).ok());
  EXPECT_EQ(mask.sum(1)[0].item<int64_t>(), 3);
  EXPECT_EQ(mask.sum(1)[1].item<int64_t>(), 5);
  EXPECT_EQ(batch_ids[0][4].item<int64_t>(), InstructionTokenizer::kPad);
  EXPECT_FALSE(tokenizer.EncodeBatch({"pick up the red cube . . ."}, 6, false, &batch_ids, &mask).ok());

  auto reloaded = InstructionTokenizer::FromYaml(tokenizer.ToYaml());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->words(), tokenizer.words());
  EXPECT_FALSE(InstructionTokenizer::FromYaml(YAML::Load("[b, a]")).ok());
}

TEST(ActionNormalizerTest, RoundTripsClipsAndBins) {
  auto normalizer = ActionNormalizer::Create({-2.0, 0.0, 5.0}, {2.0, 1.0, 5.0});
  ASSERT_TRUE(normalizer.ok());
  torch::Tensor a = torch::tensor({{-2.0f, 0.25f, 5.0f}, {1.0f, 1.0f, 5.0f}});
  torch::Tensor n = normalizer->Normalize(a);
  EXPECT_TRUE(torch::allclose(n, torch::tensor({{-1.0f, -0.5f, 0.0f}, {0.5f, 1.0f, 0.0f}})));
  EXPECT_TRUE(torch::allclose(normalizer->Denormalize(n), a));
  EXPECT_EQ(normalizer->Normalize(torch::tensor({{9.0f, -3.0f, 0.0f}}))[0][0].item<float>(), 1.0f);
  torch::Tensor bins = ActionNormalizer::ToBins(torch::tensor({-1.0f, -0.999f, 0.0f, 0.999f, 1.0f}), 256);
  EXPECT_TRUE(torch::equal(bins, torch::tensor({0, 0, 128, 255, 255}, torch::kInt64)));
  EXPECT_NEAR(ActionNormalizer::FromBins(torch::tensor({0}), 256).item<float>(), -1.0 + 1.0 / 256, 1e-6);
  EXPECT_FALSE(ActionNormalizer::Create({1.0}, {0.0}).ok());
  EXPECT_FALSE(ActionNormalizer::Create({std::nan("")}, {0.0}).ok());
  EXPECT_FALSE(ActionNormalizer::Create({}, {}).ok());
  auto reloaded = ActionNormalizer::FromYaml(normalizer->ToYaml());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->max(), normalizer->max());
}

TEST(PolicyTest, ShapesAndInitialSigmaIsTheGeometricMean) {
  torch::manual_seed(0);
  VlaPolicy policy = MakeTinyPolicy();
  auto context = policy->Encode(TinyObservation(3));
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(context->tokens.sizes(), (std::vector<int64_t>{3, 4 + 12 + 1 + 4, 32}));
  torch::Tensor x = torch::randn({3, 8, 7});
  torch::Tensor tau = torch::full({3}, 0.3);
  EXPECT_EQ(policy->Velocity(x, tau, *context).sizes(), x.sizes());
  torch::Tensor log_sigma = policy->LogSigma(x, tau, *context);
  const double expected = 0.5 * (std::log(0.08) + std::log(0.2));
  EXPECT_TRUE(torch::allclose(log_sigma, torch::full_like(log_sigma, expected), 0, 1e-6));
}

TEST(PolicyTest, TheStemIsOneModuleWhoseKeypointsReadTheStrideFourStage) {
  PolicyConfig config = TinyPolicyConfig();
  VlaPolicy patchify = MakeTinyPolicy(config);
  EXPECT_TRUE(patchify->encoder->named_parameters().contains("stem.patch_embed.weight"));
  config.encoder.stem.channels = 8;
  config.encoder.stem.keypoints = 4;
  ASSERT_TRUE(config.Validate().ok()) << config.Validate();
  VlaPolicy policy = MakeTinyPolicy(config);
  const auto params = policy->encoder->named_parameters();
  EXPECT_FALSE(params.contains("stem.patch_embed.weight"));
  // patch 8 = three stride-2 stages (8, 16, 32 channels) and a 1x1 to dim; keypoints on stage 1.
  EXPECT_EQ(params["stem.convs.2.weight"].sizes(), (std::vector<int64_t>{32, 16, 3, 3}));
  EXPECT_EQ(params["stem.convs.3.weight"].sizes(), (std::vector<int64_t>{config.encoder.dim, 32, 1, 1}));
  EXPECT_EQ(params["stem.keypoint_maps.weight"].sizes(), (std::vector<int64_t>{4, 16, 1, 1}));
  auto context = policy->Encode(TinyObservation(2));
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(context->tokens.size(1), 4 + 12 + 1 + 1 + 4);  // one keypoint token
  config.encoder.stem.keypoints = -1;
  EXPECT_NE(config.Validate().message().find("encoder.stem"), std::string::npos) << config.Validate();
  config.encoder.stem.keypoints = 4;
  config.encoder.patch_size = 6;
  config.encoder.image_size = 18;
  EXPECT_NE(config.Validate().message().find("power-of-two"), std::string::npos) << config.Validate();
}

TEST(PolicyTest, ConvStemWithFilmStartsUnconditionedAndLearnsFromTheInstruction) {
  torch::manual_seed(2);
  PolicyConfig config = TinyPolicyConfig();
  config.encoder.stem.channels = 8;
  config.encoder.stem.film = true;
  config.encoder.stem.keypoints = 4;
  ASSERT_TRUE(config.Validate().ok());
  VlaPolicy policy = MakeTinyPolicy(config);
  PolicyObservation obs = TinyObservation(2);
  auto context = policy->Encode(obs);
  ASSERT_TRUE(context.ok()) << context.status();
  // vision 2x2 + text 12 + proprio + keypoint token + 4 queries
  EXPECT_EQ(context->tokens.sizes(), (std::vector<int64_t>{2, 4 + 12 + 1 + 1 + 4, 32}));
  EXPECT_EQ(context->mask.sizes(), (std::vector<int64_t>{2, 4 + 12 + 1 + 1 + 4}));
  const torch::Tensor vision = context->tokens.narrow(1, 0, 4);
  const auto film_parameters = [&] {
    std::vector<torch::Tensor> film;
    for (const auto& item : policy->encoder->named_parameters()) {
      if (item.key().rfind("stem.film", 0) == 0) film.push_back(item.value());
    }
    return film;
  }();
  ASSERT_EQ(film_parameters.size(), 6u);  // patch 8 = three stride-2 stages, weight + bias each
  // Zero-initialised: training starts from the unconditioned stem.
  for (const torch::Tensor& p : film_parameters) EXPECT_EQ(p.abs().max().item<double>(), 0.0);
  // The FiLM layers receive gradient, so training can make the stem instruction-dependent.
  torch::Tensor actions = torch::rand({2, 8, 7}) * 2 - 1;
  testing::Randomize(*policy->flow_head);
  policy->FlowMatchingLoss(actions, torch::randn({2, 8, 7}), torch::rand({2}), *context).backward();
  const auto gradient = [](const torch::Tensor& p) { return p.grad().defined() ? p.grad().abs().sum().item<double>() : 0.0; };
  double grad = 0;
  for (const torch::Tensor& p : film_parameters) grad += gradient(p);
  EXPECT_GT(grad, 0.0);
  for (const auto& item : policy->encoder->named_parameters()) {
    if (item.key().rfind("stem.keypoint_", 0) == 0) {
      EXPECT_GT(gradient(item.value()), 0.0) << item.key();
    }
  }
  EXPECT_TRUE(vision.isfinite().all().item<bool>());

  config.encoder.patch_size = 6;
  config.encoder.image_size = 18;
  EXPECT_FALSE(config.Validate().ok());
  PolicyConfig no_stem = TinyPolicyConfig();
  no_stem.encoder.stem.keypoints = 4;
  EXPECT_FALSE(no_stem.Validate().ok());
  no_stem.encoder.stem.keypoints = 0;
  no_stem.encoder.stem.film = true;
  EXPECT_NE(no_stem.Validate().message().find("encoder.stem.channels"), std::string::npos) << no_stem.Validate();
}

TEST(PolicyTest, SubgoalConditioningSteersTheHeadsByTheEstimatedSubgoal) {
  PolicyConfig config = TinyPolicyConfig();
  config.subgoal_localiser.scene_channels = 4;
  EXPECT_NE(std::string(config.Validate().message()).find("subgoal_localiser.channels"), std::string::npos);
  config.subgoal_localiser.scene_channels = 0;
  config.subgoal_localiser.channels = 8;
  ASSERT_TRUE(config.Validate().ok());
  ASSERT_TRUE(config.HasSubgoalHead());
  VlaPolicy policy = MakeTinyPolicy(config);
  PolicyObservation obs = TinyObservation(3);
  auto context = policy->Encode(obs);
  ASSERT_TRUE(context.ok()) << context.status();
  // Encode supplies the head's estimate, outside the graph (the flow loss must not move the localiser).
  ASSERT_TRUE(context->subgoal.defined());
  EXPECT_FALSE(context->subgoal.requires_grad());
  EXPECT_TRUE(torch::allclose(context->subgoal, policy->Subgoal(*context)));
  // Repeat / Index / Detach carry it row by row.
  EXPECT_TRUE(torch::equal(context->Repeat(2).subgoal[3], context->subgoal[1]));
  EXPECT_TRUE(torch::equal(context->Index(torch::tensor({2, 0})).subgoal[0], context->subgoal[2]));
  EXPECT_TRUE(torch::equal(context->Detach().subgoal, context->subgoal));

  torch::NoGradGuard no_grad;
  // adaLN-Zero starts every head at exactly zero output: give the zero-initialised weights values.
  for (auto& p : policy->flow_head->parameters()) {
    if (p.abs().max().item<double>() == 0) p.normal_(0, 0.1);
  }
  const torch::Tensor x = torch::randn({3, config.chunk_length, config.action_dim});
  const torch::Tensor tau = torch::full({3}, 0.5);
  const torch::Tensor v = policy->Velocity(x, tau, *context);
  const torch::Tensor log_sigma = policy->LogSigma(x, tau, *context);
  PolicyContext moved = *context;
  moved.subgoal = context->subgoal + 0.5;
  EXPECT_GT((policy->Velocity(x, tau, moved) - v).abs().max().item<double>(), 1e-4);
  // The sigma net's final layer starts at zero, so only its conditioning weights are checked.
  ASSERT_TRUE(policy->sigma_subgoal);
  EXPECT_TRUE(torch::allclose(policy->LogSigma(x, tau, moved), log_sigma));
  // Relative to the gripper: with the proprio's own path silenced, moving subgoal and gripper
  // together changes nothing.
  policy->flow_proprio->weight.zero_();
  const torch::Tensor v_silenced = policy->Velocity(x, tau, *context);
  PolicyContext both = moved;
  both.proprio = context->proprio.clone();
  both.proprio.narrow(1, 0, 2).add_(0.5);
  EXPECT_TRUE(torch::allclose(policy->Velocity(x, tau, both), v_silenced, 1e-4, 1e-5));

  PolicyContext missing = *context;
  missing.subgoal = torch::Tensor();
  EXPECT_THROW(policy->Velocity(x, tau, missing), c10::Error);
  // RFT trains the conditioning projections with the heads; the localiser stays frozen.
  policy->FreezeForRft();
  for (const auto& p : policy->flow_subgoal->parameters()) EXPECT_TRUE(p.requires_grad());
  for (const auto& p : policy->subgoal_localiser->parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(PolicyTest, BadObservationsAreClearErrors) {
  VlaPolicy policy = MakeTinyPolicy();
  auto wrong_size = policy->Encode(TinyObservation(2, 32));
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_NE(wrong_size.status().message().find("observation.frames"), std::string::npos);

  auto nan_obs = TinyObservation(2);
  nan_obs.proprio[0][0] = std::numeric_limits<float>::quiet_NaN();
  auto nan = policy->Encode(nan_obs);
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("observation.proprio"), std::string::npos);

  auto unknown_obs = TinyObservation(1);
  unknown_obs.instructions[0] = "open the box";
  auto unknown = policy->Encode(unknown_obs);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'open'"), std::string::npos);
  EXPECT_TRUE(policy->Encode(unknown_obs, /*allow_unknown_words=*/true).ok());

  auto mismatched = TinyObservation(2);
  mismatched.instructions.pop_back();
  EXPECT_FALSE(policy->Encode(mismatched).ok());
}

TEST(PolicyTest, FlowMatchingOverfitsAFixedBatch) {
  torch::manual_seed(1);
  VlaPolicy policy = MakeTinyPolicy();
  auto obs = TinyObservation(4);
  torch::Tensor actions = torch::rand({4, 8, 7}) * 2 - 1;
  torch::Tensor noise = torch::randn({4, 8, 7});
  torch::Tensor tau = torch::rand({4});
  torch::optim::AdamW optimizer(policy->parameters(), torch::optim::AdamWOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    optimizer.zero_grad();
    auto context = policy->Encode(obs);
    ASSERT_TRUE(context.ok());
    torch::Tensor loss = policy->FlowMatchingLoss(actions, noise, tau, *context);
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.2 * first) << "first " << first << " last " << last;
}

TEST(PolicyTest, RftFreezesTheEncoderButNotLoraAdapters) {
  VlaPolicy plain = MakeTinyPolicy();
  plain->FreezeForRft();
  for (const auto& p : plain->encoder->parameters()) EXPECT_FALSE(p.requires_grad());
  for (const auto& p : plain->flow_head->parameters()) EXPECT_TRUE(p.requires_grad());
  for (const auto& p : plain->sigma_net->parameters()) EXPECT_TRUE(p.requires_grad());

  PolicyConfig config = TinyPolicyConfig();
  config.encoder.lora.rank = 2;
  config.encoder.lora.alpha = 4;
  VlaPolicy adapted = MakeTinyPolicy(config);
  adapted->FreezeForRft();
  int trainable = 0;
  for (const auto& item : adapted->encoder->named_parameters()) {
    EXPECT_EQ(item.value().requires_grad(), item.key().find("lora_") != std::string::npos) << item.key();
    trainable += item.value().requires_grad();
  }
  EXPECT_GT(trainable, 0);
}

TEST(PolicyTest, CheckpointRoundTripAndMismatch) {
  const std::string dir = ::testing::TempDir() + "/vlarft_policy_ckpt_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  torch::manual_seed(2);
  VlaPolicy policy = MakeTinyPolicy();
  testing::Randomize(*policy);
  ASSERT_TRUE(SavePolicy(dir + "/policy", policy, 123).ok());
  auto loaded = LoadPolicy(dir + "/policy");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto obs = TinyObservation(2);
  auto c1 = policy->Encode(obs);
  auto c2 = (*loaded)->Encode(obs);
  ASSERT_TRUE(c1.ok() && c2.ok());
  torch::Tensor x = torch::randn({2, 8, 7});
  torch::Tensor tau = torch::full({2}, 0.5);
  EXPECT_TRUE(torch::equal(policy->Velocity(x, tau, *c1), (*loaded)->Velocity(x, tau, *c2)));
  EXPECT_EQ((*loaded)->tokenizer().words(), policy->tokenizer().words());

  // A sidecar describing a different architecture than the weights is an error, not a partial load.
  PolicyConfig other = TinyPolicyConfig();
  other.flow_head.depth = 3;
  other.sigma_net.depth = 3;
  VlaPolicy deeper = MakeTinyPolicy(other);
  ASSERT_TRUE(SavePolicy(dir + "/deeper", deeper, 1).ok());
  std::filesystem::copy_file(dir + "/policy.safetensors", dir + "/deeper.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  auto mismatch = LoadPolicy(dir + "/deeper");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("flow_head.blocks.2"), std::string::npos) << mismatch.status();
}

}  // namespace
}  // namespace vlarft::models
