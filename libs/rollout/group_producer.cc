#include "libs/rollout/group_producer.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"
#include "libs/rl/proprio_rollforward.h"

namespace vlarft::rollout {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <typename T>
absl::StatusOr<T> Annotated(absl::StatusOr<T> value, absl::string_view context) {
  if (!value.ok()) return core::Annotate(value.status(), context);
  return value;
}

}  // namespace

absl::Status GroupProducerOptions::Validate() const {
  if (group_size < 2 || horizon < 1) return absl::InvalidArgumentError("need group_size >= 2 and horizon >= 1");
  return absl::OkStatus();
}

absl::StatusOr<ProducedGroup> GroupProducer::Produce(const Prompt& prompt, const core::SeedPath& seeds,
                                                     std::string group_id) const {
  const auto total_start = std::chrono::steady_clock::now();
  VLARFT_RETURN_IF_ERROR(options_.Validate());
  const models::PolicyConfig& pc = policy_->config();
  const int64_t g = options_.group_size, h_count = options_.horizon, c = pc.chunk_length;
  if (!prompt.frame.defined() || prompt.frame.dim() != 3 || !prompt.expert_actions.defined() ||
      prompt.expert_actions.dim() != 2) {
    return absl::InvalidArgumentError("prompt needs frame [H, W, 3] and expert_actions [T, A]");
  }
  if (prompt.expert_actions.size(0) < h_count * c) {
    return absl::FailedPreconditionError(absl::StrCat("prompt ", group_id, " has ", prompt.expert_actions.size(0),
                                                      " expert actions; horizon ", h_count, " needs ", h_count * c));
  }
  ImagineSettings settings;
  settings.group_size = g;
  settings.horizon = h_count;
  settings.seed = seeds.Child("world_model").seed();
  settings.temperature = options_.wm_temperature;
  settings.top_k = options_.wm_top_k;
  settings.top_p = options_.wm_top_p;
  settings.request_id = group_id;
  ProducedGroup out;
  auto start = std::chrono::steady_clock::now();
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<ImaginationSession> session,
                          Annotated(imaginer_->Start(prompt, settings), imaginer_->name()));
  out.seconds.simulator += SecondsSince(start);

  std::vector<torch::Tensor> chains, log_probs, observations, frames, reference_frames, actions;
  int64_t version = -1;
  const torch::Tensor expert = prompt.expert_actions.narrow(0, 0, h_count * c).to(torch::kFloat32).contiguous();
  torch::Tensor proprio = prompt.proprio.to(torch::kFloat32).unsqueeze(0);
  models::PolicyObservation obs{prompt.frame.unsqueeze(0), {prompt.instruction}, proprio};
  for (int64_t h = 0; h < h_count; ++h) {
    start = std::chrono::steady_clock::now();
    absl::StatusOr<PolicyReplica::Sampled> sampled =
        h == 0 ? policy_->SampleGroup(obs, g, seeds.Child("policy").Child(h).seed())
               : policy_->SamplePerObservation(obs, seeds.Child("policy").Child(h).seed());
    if (!sampled.ok()) return core::Annotate(sampled.status(), "sampling the policy");
    out.seconds.policy += SecondsSince(start);
    version = version < 0 ? sampled->version : std::min(version, sampled->version);
    chains.push_back(sampled->sample.chain.cpu());
    log_probs.push_back(sampled->sample.log_probs.cpu());
    observations.push_back(obs.frames.size(0) == 1 ? obs.frames.expand({g, -1, -1, -1}) : obs.frames);
    actions.push_back(sampled->actions);

    start = std::chrono::steady_clock::now();
    VLARFT_ASSIGN_OR_RETURN(ImaginedChunk chunk,
                            Annotated(session->Next(sampled->actions.to(torch::kFloat32), expert.narrow(0, h * c, c)),
                                           absl::StrCat(imaginer_->name(), ", chunk ", h)));
    out.seconds.simulator += SecondsSince(start);
    const std::vector<int64_t> want = {g, c, prompt.frame.size(0), prompt.frame.size(1), 3};
    if (!chunk.frames.defined() || chunk.frames.sizes().vec() != want || chunk.frames.scalar_type() != torch::kUInt8 ||
        !chunk.reference.defined() || chunk.reference.sizes().vec() != std::vector<int64_t>(want.begin() + 1, want.end())) {
      return absl::DataLossError(absl::StrCat(imaginer_->name(), " returned frames ",
                                              chunk.frames.defined() ? core::ShapeString(chunk.frames.sizes().vec()) : "none",
                                              "; expected uint8 ", core::ShapeString(want), " and a reference without G"));
    }
    frames.push_back(chunk.frames);
    reference_frames.push_back(chunk.reference);
    // Closed loop: each sample's next chunk is decided from its own last frame and proprio.
    proprio = rl::RollProprioForward(proprio.expand({g, -1}), sampled->actions);
    obs = {chunk.frames.select(1, c - 1).contiguous(), std::vector<std::string>(g, prompt.instruction), proprio};
  }

  ScoreInputs score;
  score.group_id = group_id;
  score.prompt = &prompt;
  score.frames = torch::cat(frames, 1);
  score.reference_frames = torch::cat(reference_frames, 0);
  score.actions = torch::cat(actions, 1).to(torch::kFloat32);
  score.reference_actions = expert;
  score.session = session.get();
  start = std::chrono::steady_clock::now();
  VLARFT_ASSIGN_OR_RETURN(torch::Tensor rewards, Annotated(scorer_->Score(score), scorer_->name()));
  out.seconds.reward = SecondsSince(start);
  if (!rewards.defined() || rewards.dim() != 1 || rewards.size(0) != g) {
    return absl::DataLossError(absl::StrCat(scorer_->name(), " returned ",
                                            rewards.defined() ? core::ShapeString(rewards.sizes().vec()) : "nothing",
                                            " rewards for ", g, " samples"));
  }
  rewards = rewards.to(torch::kFloat32).contiguous();
  if (!torch::isfinite(rewards).all().item<bool>()) {
    return absl::DataLossError(absl::StrCat(scorer_->name(), " returned non-finite rewards"));
  }

  rl::RolloutGroupData& group = out.data;
  group.group_id = std::move(group_id);
  group.policy_version = version;
  group.observations = h_count == 1 ? prompt.frame.view({1, 1, prompt.frame.size(0), prompt.frame.size(1), 3})
                                    : torch::stack(observations, 1).contiguous();
  group.instruction = prompt.instruction;
  group.proprio = prompt.proprio.to(torch::kFloat32);
  group.expert_actions = expert;
  group.chains = torch::stack(chains, 1).contiguous();
  group.old_log_probs = torch::stack(log_probs, 1).contiguous();
  group.rewards = rewards;
  out.seconds.total = SecondsSince(total_start);
  return out;
}

}  // namespace vlarft::rollout
