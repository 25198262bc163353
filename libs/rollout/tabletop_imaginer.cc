#include "libs/rollout/tabletop_imaginer.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/tabletop/chunk_outcome.h"

namespace vlarft::rollout {
namespace {

std::vector<tabletop::Action> ToActions(const torch::Tensor& chunk) {  // [C, 7] float
  const torch::Tensor c = chunk.to(torch::kFloat32).contiguous();
  std::vector<tabletop::Action> out(c.size(0));
  for (int64_t t = 0; t < c.size(0); ++t) {
    for (int d = 0; d < 7; ++d) out[t][d] = c[t][d].item<float>();
  }
  return out;
}

class TabletopSession : public ImaginationSession {
 public:
  TabletopSession(const data::DemoState& state, int64_t group_size, int64_t horizon, int size,
                  tabletop::Policy* finisher)
      : samples_(group_size, state), reference_(state), horizon_(horizon), size_(size), finisher_(finisher) {}

  absl::StatusOr<ImaginedChunk> Next(const torch::Tensor& actions, const torch::Tensor& reference_actions) override {
    const int64_t g = static_cast<int64_t>(samples_.size());
    if (chunks_ >= horizon_) return absl::FailedPreconditionError("the session already executed its horizon");
    if (actions.dim() != 3 || actions.size(0) != g || actions.size(2) != 7 || reference_actions.dim() != 2 ||
        reference_actions.size(0) != actions.size(1) || reference_actions.size(1) != 7) {
      return absl::InvalidArgumentError(absl::StrCat("actions must be [", g, ", C, 7] and reference_actions [C, 7]"));
    }
    if (!torch::isfinite(actions).all().item<bool>() || !torch::isfinite(reference_actions).all().item<bool>()) {
      return absl::InvalidArgumentError("actions: non-finite values");
    }
    const int64_t c = actions.size(1);
    ImaginedChunk out;
    out.frames = torch::empty({g, c, size_, size_, 3}, torch::kUInt8);
    out.reference = torch::empty({c, size_, size_, 3}, torch::kUInt8);
    for (int64_t i = 0; i <= g; ++i) {
      data::DemoState& s = i < g ? samples_[i] : reference_;
      const std::vector<tabletop::Action> chunk = ToActions(i < g ? actions[i] : reference_actions);
      uint8_t* frames = (i < g ? out.frames[i] : out.reference).data_ptr<uint8_t>();
      for (int64_t t = 0; t < c; ++t) {
        s.expert.Act(s.env);  // observe: keeps the expert's plan and noise stream in step (chunk_outcome.h)
        s.env.Step(chunk[t]);
        s.env.RenderInto(size_, frames + t * size_ * size_ * 3);
      }
    }
    ++chunks_;
    chunk_length_ = static_cast<int>(c);
    return out;
  }

  absl::StatusOr<GroundTruth> Outcome() override {
    const int64_t g = static_cast<int64_t>(samples_.size());
    GroundTruth truth{torch::zeros({g}, torch::kBool), torch::zeros({g}, torch::kFloat32)};
    if (finisher_ != nullptr) {
      std::vector<tabletop::TabletopEnv> envs;
      for (const data::DemoState& s : samples_) envs.push_back(s.env);  // the session stays reusable
      std::vector<tabletop::TabletopEnv*> running;
      for (tabletop::TabletopEnv& e : envs) running.push_back(&e);
      VLARFT_RETURN_IF_ERROR(tabletop::RunEpisodes(*finisher_, running, size_, chunk_length_, /*threads=*/1));
      for (int64_t i = 0; i < g; ++i) {
        truth.success[i] = envs[i].success();
        truth.progress[i] = ChunkProgress(envs[i].success(), envs[i].steps(), envs[i].task().max_steps);
      }
      return truth;
    }
    for (int64_t i = 0; i < g; ++i) {
      const tabletop::ChunkOutcome o = tabletop::ExecuteChunkThenExpert(samples_[i].env, samples_[i].expert, {});
      truth.success[i] = o.success;
      truth.progress[i] = ChunkProgress(o.success, o.steps, samples_[i].env.task().max_steps);
    }
    return truth;
  }

 private:
  std::vector<data::DemoState> samples_;
  data::DemoState reference_;
  int64_t horizon_;
  int size_;
  int64_t chunks_ = 0;
  int chunk_length_ = 8;  // the policy's: the finisher decides as often as the sampled chunks did
  tabletop::Policy* finisher_;
};

}  // namespace

float ChunkProgress(bool success, int steps_used, int max_steps) {
  if (!success) return 0.f;
  return 1.f + static_cast<float>(max_steps - steps_used) / static_cast<float>(max_steps);
}

absl::StatusOr<std::unique_ptr<ImaginationSession>> TabletopImaginer::Start(const Prompt& prompt,
                                                                            const ImagineSettings& settings) {
  absl::StatusOr<data::DemoState> replayed = prompt.simulator_state != nullptr
                                                 ? absl::StatusOr<data::DemoState>(*prompt.simulator_state)
                                                 : replayer_.StateAt(prompt.episode, prompt.step);
  if (!replayed.ok()) return replayed.status();
  const data::DemoState& state = *replayed;
  const int size = static_cast<int>(prompt.frame.size(0));
  // The prompt's frame must be this state's rendering: a prompt from another dataset would
  // otherwise be executed from the wrong scene.
  std::vector<uint8_t> frame(static_cast<size_t>(size) * size * 3);
  state.env.RenderInto(size, frame.data());
  if (prompt.frame.numel() != static_cast<int64_t>(frame.size()) ||
      std::memcmp(prompt.frame.contiguous().data_ptr<uint8_t>(), frame.data(), frame.size()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("prompt (episode ", prompt.episode, ", step ", prompt.step,
                                                      "): its frame is not the replayed state's rendering"));
  }
  return std::unique_ptr<ImaginationSession>(new TabletopSession(state, settings.group_size, settings.horizon, size, finisher_));
}

}  // namespace vlarft::rollout
