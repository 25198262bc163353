#include "studies/rft_study.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/progress_meter.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/models/checkpoint.h"
#include "libs/models/imagination_engine.h"
#include "libs/reward/reward.h"
#include "libs/reward/tokenizer_features.h"
#include "libs/rollout/blended_imaginer.h"
#include "libs/rollout/demo_prompt_source.h"
#include "libs/rollout/policy_replica.h"
#include "libs/rollout/scorers.h"
#include "libs/rollout/tabletop_imaginer.h"
#include "libs/rollout/tokenized_imaginer.h"
#include "libs/rollout/world_model_imaginer.h"
#include "libs/evaluation/policy_adapter.h"

namespace vlarft::studies {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `tokenizer`: one the run already holds (the engine's, the tokenized imaginer's), shared by the
// perceptual term; empty: loaded from options.tokenizer when the perceptual term needs it.
absl::StatusOr<std::unique_ptr<rollout::Scorer>> MakeVerifier(const RftStudyOptions& options,
                                                             models::VideoTokenizer tokenizer) {
  reward::RewardConfig config = options.scoring;
  config.type = reward::RewardType::kImaginedVsImaginedExpert;
  std::shared_ptr<reward::MultiScaleFeatureExtractor> features;
  if (config.perceptual == "tokenizer") {
    if (!tokenizer) {
      if (options.tokenizer.empty()) {
        return absl::InvalidArgumentError("reward.scoring.perceptual is 'tokenizer' but no tokenizer checkpoint is set");
      }
      VLARFT_ASSIGN_OR_RETURN(tokenizer, models::LoadTokenizer(options.tokenizer, torch::Device(config.device)));
    }
    features = std::make_shared<reward::TokenizerFeatureExtractor>(tokenizer);
  }
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<reward::RewardScorer> scorer, reward::RewardScorer::Create(config, features));
  return std::unique_ptr<rollout::Scorer>(new rollout::VerifierScorer(std::move(scorer)));
}

// tabletop::Policy is called from one thread at a time; the step's groups finish their episodes
// from parallel threads, so they take turns on one finisher.
class SerializedPolicy : public tabletop::Policy {
 public:
  explicit SerializedPolicy(std::unique_ptr<tabletop::Policy> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  absl::StatusOr<std::vector<tabletop::ActionChunk>> ActBatch(
      const std::vector<tabletop::Observation>& observations) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->ActBatch(observations);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<tabletop::Policy> inner_;
};

}  // namespace

absl::StatusOr<StudyReward> ParseStudyReward(const std::string& name) {
  if (name == "oracle") return StudyReward::kOracle;
  if (name == "real_frames") return StudyReward::kRealFrames;
  if (name == "tokenized_frames") return StudyReward::kTokenizedFrames;
  if (name == "world_model") return StudyReward::kWorldModel;
  if (name == "world_model_blend") return StudyReward::kWorldModelBlend;
  return absl::InvalidArgumentError(absl::StrCat(
      "--reward must be oracle, real_frames, tokenized_frames, world_model or world_model_blend, got '", name, "'"));
}

absl::StatusOr<StudyControl> ParseStudyControl(const std::string& name) {
  if (name == "none") return StudyControl::kNone;
  if (name == "shuffled") return StudyControl::kShuffled;
  if (name == "zero") return StudyControl::kZero;
  return absl::InvalidArgumentError(absl::StrCat("--control must be none, shuffled or zero, got '", name, "'"));
}

absl::StatusOr<RftStudyResult> RunRftStudy(const RftStudyOptions& options,
                                           const std::function<void(const std::string&)>& say) {
  if (options.steps < 1 || options.prompts_per_step < 1) {
    return absl::InvalidArgumentError("need steps >= 1 and prompts_per_step >= 1");
  }
  VLARFT_RETURN_IF_ERROR(options.producer.Validate());
  if (options.oracle_finisher != "expert" && options.oracle_finisher != "policy") {
    return absl::InvalidArgumentError(
        absl::StrCat("oracle finisher must be expert or policy, got '", options.oracle_finisher, "'"));
  }
  if (options.oracle_finisher == "policy" && options.reward != StudyReward::kOracle) {
    return absl::InvalidArgumentError("--oracle_finish policy goes with --reward oracle");
  }
  if (!rollout::IsBlendWeight(options.world_model_weight)) {
    return absl::InvalidArgumentError(
        absl::StrCat("world_model_weight is ", options.world_model_weight, "; it must lie in [0, 1]"));
  }
  if (options.reward == StudyReward::kWorldModelBlend && (options.tokenizer.empty() || options.world_model.empty())) {
    return absl::InvalidArgumentError("--reward world_model_blend needs a tokenizer and a world-model checkpoint");
  }
  const auto start = std::chrono::steady_clock::now();
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(options.policy));
  const models::PolicyConfig& pc = policy->config();
  std::optional<models::VlaPolicy> reference;
  if (options.grpo.kl_coef > 0) {
    VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy ref, models::LoadPolicy(options.policy));
    reference = ref;
  }
  // On-policy: the sampler shares the learner's module, so every group is drawn with the weights of
  // the current step. The replica (which freezes as RFT does and sets eval mode) comes first: the
  // learner then sets the final trainable set (with optim.localiser_lr > 0 it unfreezes the localiser).
  rollout::PolicyReplica replica(policy);
  replica.MarkVersion(0);
  rl::LearnerOptimConfig optim = options.optim;
  optim.seed = core::SeedPath(options.seed).Child("learner").seed();
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<rl::GrpoLearner> learner,
                          rl::GrpoLearner::Create(policy, options.grpo, optim, nullptr, reference));
  VLARFT_ASSIGN_OR_RETURN(
      std::unique_ptr<rollout::DemoPromptSource> prompts,
      rollout::DemoPromptSource::Load(options.dataset, options.suites, static_cast<int>(pc.encoder.image_size),
                                      options.split_seed, options.validation_fraction,
                                      pc.chunk_length * options.producer.horizon));

  std::unique_ptr<tabletop::Policy> finisher;  // outlives the imaginer that borrows it (declared first)
  std::unique_ptr<rollout::Imaginer> benchmark;  // the real simulator under a tokenized imaginer
  std::unique_ptr<rollout::Imaginer> truth, model;  // world_model_blend: the two blended
  std::unique_ptr<rollout::Imaginer> imaginer;
  std::unique_ptr<rollout::Scorer> scorer;
  if (options.reward == StudyReward::kWorldModel || options.reward == StudyReward::kWorldModelBlend) {
    models::EngineLimits limits;
    limits.max_group_size = options.producer.group_size + 1;
    VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine,
                            models::ImaginationEngine::Load(options.tokenizer, options.world_model, torch::kCPU, limits));
    // The step's groups are produced in parallel threads; their imaginations run at the same time
    // (one per core) or batched into one decode loop (options.imagine).
    rollout::WorldModelImaginerOptions sharing;
    sharing.expected_callers = options.prompts_per_step;
    if (options.imagine == "parallel") sharing.concurrency = rollout::WorldModelImaginerOptions::Concurrency::kParallel;
    auto wm = std::make_unique<rollout::WorldModelImaginer>(std::move(engine), sharing);
    VLARFT_ASSIGN_OR_RETURN(scorer, MakeVerifier(options, wm->engine().tokenizer()));
    if (options.reward == StudyReward::kWorldModelBlend) {
      benchmark = std::make_unique<rollout::TabletopImaginer>(&prompts->dataset(), data::DemoReplayOptions{});
      truth = std::make_unique<rollout::TokenizedImaginer>(benchmark.get(), wm->engine().tokenizer());
      model = std::move(wm);
      imaginer = std::make_unique<rollout::BlendedImaginer>(truth.get(), model.get(), options.world_model_weight);
    } else {
      imaginer = std::move(wm);
    }
  } else {
    auto tabletop = std::make_unique<rollout::TabletopImaginer>(&prompts->dataset(), data::DemoReplayOptions{});
    if (options.oracle_finisher == "policy") {
      evaluation::PolicyAdapterOptions adapter;
      adapter.bf16 = options.finisher_bf16;
      VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<tabletop::Policy> policy,
                              evaluation::MakeVlaPolicyAdapter(learner->policy(), "finisher", adapter));
      finisher = std::make_unique<SerializedPolicy>(std::move(policy));
      tabletop->set_finisher(finisher.get());
    }
    models::VideoTokenizer round_trip{nullptr};  // tokenized_frames: shared with the verifier
    if (options.reward == StudyReward::kTokenizedFrames) {
      if (options.tokenizer.empty()) {
        return absl::InvalidArgumentError(
            "--reward tokenized_frames needs simulator.tokenizer_checkpoint or reward.tokenizer_checkpoint");
      }
      VLARFT_ASSIGN_OR_RETURN(round_trip, models::LoadTokenizer(options.tokenizer, torch::kCPU));
      benchmark = std::move(tabletop);
      imaginer = std::make_unique<rollout::TokenizedImaginer>(benchmark.get(), round_trip);
    } else {
      imaginer = std::move(tabletop);
    }
    if (options.reward == StudyReward::kOracle) {
      scorer = std::make_unique<rollout::GroundTruthScorer>();
    } else {
      VLARFT_ASSIGN_OR_RETURN(scorer, MakeVerifier(options, round_trip));
    }
  }
  rollout::GroupProducer producer(options.producer, &replica, imaginer.get(), scorer.get());

  RftStudyResult result;
  const core::SeedPath root(options.seed);
  // Each training seed draws its own prompt stream (draw i is a pure function of i).
  const uint64_t prompt_offset = root.Child("prompts").seed() % (uint64_t{1} << 40);
  core::ProgressMeter meter({"", "steps", options.steps, 10}, [&](const std::string& line) { say(line); });
  for (int64_t step = 0; step < options.steps; ++step) {
    // The step's groups, one thread each: their world-model imaginations run in parallel or batched
    // together (world_model_imaginer.h); every group's draws come from its own seeds, so the result
    // does not depend on the threads' timing.
    const int64_t prompts_per_step = options.prompts_per_step;
    std::vector<absl::StatusOr<rollout::ProducedGroup>> produced(prompts_per_step,
                                                                 absl::UnknownError("not produced"));
    std::vector<uint64_t> indices(prompts_per_step);
    std::vector<std::thread> threads;
    for (int64_t p = 0; p < prompts_per_step; ++p) {
      indices[p] = prompt_offset + static_cast<uint64_t>(step * prompts_per_step + p);
      threads.emplace_back([&, p] {
        absl::StatusOr<rollout::Prompt> prompt = prompts->Get(indices[p]);
        if (!prompt.ok()) {
          produced[p] = prompt.status();
          return;
        }
        produced[p] = producer.Produce(*prompt, root.Child("group").Child(indices[p]), absl::StrCat("study/", indices[p]));
      });
    }
    for (std::thread& t : threads) t.join();
    std::vector<rl::RolloutGroupData> groups;
    double true_reward = 0;
    for (int64_t p = 0; p < prompts_per_step; ++p) {
      if (!produced[p].ok()) return core::Annotate(produced[p].status(), absl::StrCat("group of prompt ", indices[p]));
      rollout::ProducedGroup& group = *produced[p];
      result.stage_seconds.policy += group.seconds.policy;
      result.stage_seconds.simulator += group.seconds.simulator;
      result.stage_seconds.reward += group.seconds.reward;
      result.stage_seconds.total += group.seconds.total;
      torch::Tensor& rewards = group.data.rewards;
      true_reward += rewards.mean().item<double>() / prompts_per_step;
      if (options.control == StudyControl::kShuffled) {
        at::Generator g = root.Child("shuffle").Child(indices[p]).TorchGenerator();
        rewards = rewards.index_select(0, torch::randperm(rewards.size(0), g, torch::kInt64));
      } else if (options.control == StudyControl::kZero) {
        rewards = torch::zeros_like(rewards);
      }
      groups.push_back(std::move(group.data));
    }
    const auto learn_start = std::chrono::steady_clock::now();
    VLARFT_ASSIGN_OR_RETURN(rl::LearnerStepMetrics metrics, learner->Step(groups));
    result.learner_seconds += SecondsSince(learn_start);
    replica.MarkVersion(learner->step());
    RftStudyStep record{step + 1, metrics, true_reward, SecondsSince(start)};
    result.steps.push_back(record);
    meter.Update(step + 1, absl::StrFormat("reward %.4f (std %.4f, zero-variance groups %.2f) clip %.3f approx_kl %.2e "
                                           "sigma %.4f grad %.3f fm %.4f",
                                           true_reward, metrics.reward_std, metrics.zero_variance_groups,
                                           metrics.clip_fraction, metrics.approx_kl, metrics.sigma_mean,
                                           metrics.grad_norm, metrics.flow_matching));
  }
  result.tuned = learner->policy();
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace vlarft::studies
