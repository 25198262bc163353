#include "libs/reward/reward.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/device.h"
#include "libs/reward/perceptual_factory.h"
#include "libs/reward/reward_inputs.h"

namespace vlarft::reward {
namespace {

std::string FieldName(bool name_by_index, size_t index, const char* field) {
  return name_by_index ? absl::StrCat("requests[", index, "].", field) : std::string(field);
}

// A validated frame request (types 2 and 3) on its way through the batch.
struct FrameJob {
  size_t request = 0;
  FramePair pair;
  torch::Tensor per_frame_l1;          // [G, T]
  torch::Tensor per_frame_perceptual;  // [G, T]
};

struct ActionJob {
  size_t request = 0;
  ActionPair pair;
};

RewardBreakdown ToCpu(RewardBreakdown b) {
  for (torch::Tensor* t : {&b.rewards, &b.l1, &b.perceptual, &b.per_frame, &b.per_frame_l1, &b.per_frame_perceptual}) {
    *t = t->to(torch::kCPU, torch::kFloat32).contiguous();
  }
  return b;
}

// ℓ_t = w_l1·l1_t + w_p·p_t, and every [G] summary as the same weighted mean over frames.
RewardBreakdown AssembleFrameReward(const torch::Tensor& l1, const torch::Tensor& perceptual, double w_l1,
                                    double w_perceptual, FrameAggregation aggregation, double gamma) {
  RewardBreakdown b;
  b.per_frame_l1 = l1;
  b.per_frame_perceptual = perceptual;
  b.per_frame = w_l1 * l1 + w_perceptual * perceptual;
  const torch::Tensor weights = FrameWeights(l1.size(1), aggregation, gamma, l1.options());
  b.l1 = l1.matmul(weights);
  b.perceptual = perceptual.matmul(weights);
  // 0 − x rather than −x: a perfect match reports +0, not −0, in logs and protos.
  const torch::Tensor aggregate = b.per_frame.matmul(weights);
  b.rewards = torch::zeros_like(aggregate) - aggregate;
  return b;
}

// Type 1: the paper's −mean|a − a*| over the whole chunk.
RewardBreakdown ActionReward(const ActionPair& pair) {
  RewardBreakdown b;
  const torch::Tensor per_step = (pair.actions - pair.reference).abs().mean(2);  // [G, T]
  b.per_frame = per_step;
  b.per_frame_l1 = per_step;
  b.per_frame_perceptual = torch::zeros_like(per_step);
  b.l1 = per_step.mean(1);
  b.perceptual = torch::zeros_like(b.l1);
  b.rewards = torch::zeros_like(b.l1) - b.l1;
  return b;
}

}  // namespace

torch::Tensor FrameWeights(int64_t frames, FrameAggregation aggregation, double gamma,
                           const torch::TensorOptions& options) {
  TORCH_CHECK(frames >= 1, "need at least one frame, got ", frames);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor w;
  switch (aggregation) {
    case FrameAggregation::kMean:
      w = torch::full({frames}, 1.0 / static_cast<double>(frames), f64);
      break;
    case FrameAggregation::kLast:
      w = torch::zeros({frames}, f64);
      w[frames - 1] = 1.0;
      break;
    case FrameAggregation::kDiscounted:
      w = torch::pow(gamma, torch::arange(frames, f64));
      w = w / w.sum();
      break;
  }
  // Default options mean float32 on the CPU (a TensorOptions without a dtype would keep float64).
  return w.to(options.device(), options.has_dtype() ? options.dtype().toScalarType() : torch::kFloat32);
}

torch::Tensor AggregateFrames(const torch::Tensor& per_frame, FrameAggregation aggregation, double gamma) {
  TORCH_CHECK(per_frame.dim() == 2, "per-frame losses must be [G, T], got ", per_frame.sizes());
  return per_frame.matmul(FrameWeights(per_frame.size(1), aggregation, gamma, per_frame.options()));
}

RewardScorer::RewardScorer(RewardConfig config, torch::Device device, std::unique_ptr<PerceptualDistance> distance)
    : config_(std::move(config)),
      aggregation_(config_.frame_aggregation()),
      device_(device),
      distance_(std::move(distance)) {}

absl::StatusOr<std::unique_ptr<RewardScorer>> RewardScorer::Create(
    const RewardConfig& config, std::shared_ptr<MultiScaleFeatureExtractor> tokenizer_features) {
  VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<PerceptualDistance> distance,
                          MakePerceptualDistance(config, std::move(tokenizer_features)));
  return CreateWithDistance(config, std::move(distance));
}

absl::StatusOr<std::unique_ptr<RewardScorer>> RewardScorer::CreateWithDistance(
    const RewardConfig& config, std::unique_ptr<PerceptualDistance> distance) {
  RewardConfig checked = config;
  // The caller chose the distance; don't let an lpips setting without a path veto it.
  if (distance != nullptr) checked.perceptual = "none";
  absl::Status valid = checked.Validate();
  if (!valid.ok()) return core::Annotate(valid, "reward config");
  VLARFT_ASSIGN_OR_RETURN(const torch::Device device, core::ParseDevice(config.device, "scoring.device"));
  return std::unique_ptr<RewardScorer>(new RewardScorer(config, device, std::move(distance)));
}

std::string RewardScorer::perceptual_name() const { return distance_ ? distance_->name() : "none"; }

absl::StatusOr<RewardBreakdown> RewardScorer::Score(const RewardRequest& request) {
  VLARFT_ASSIGN_OR_RETURN(std::vector<RewardBreakdown> out, ScoreAll({request}, /*name_by_index=*/false));
  return std::move(out.front());
}

absl::StatusOr<std::vector<RewardBreakdown>> RewardScorer::ScoreBatch(const std::vector<RewardRequest>& requests) {
  return ScoreAll(requests, /*name_by_index=*/true);
}

absl::StatusOr<RewardBreakdown> RewardScorer::ScoreTrajectories(const torch::Tensor& frames,
                                                                const torch::Tensor& reference) {
  RewardRequest request;
  request.type = RewardType::kImaginedVsImaginedExpert;  // 2 would compute the same thing
  request.frames = frames;
  request.reference_frames = reference;
  return Score(request);
}

absl::StatusOr<RewardBreakdown> RewardScorer::ScoreActions(const torch::Tensor& actions,
                                                           const torch::Tensor& reference) {
  RewardRequest request;
  request.type = RewardType::kActionL1;
  request.actions = actions;
  request.reference_actions = reference;
  return Score(request);
}

absl::StatusOr<std::vector<RewardBreakdown>> RewardScorer::ScoreAll(const std::vector<RewardRequest>& requests,
                                                                    bool name_by_index) {
  // 1. Validate and convert everything first: one bad request fails the call before any work.
  std::vector<FrameJob> frame_jobs;
  std::vector<ActionJob> action_jobs;
  const int64_t min_size = distance_ ? distance_->min_image_size() : 1;
  for (size_t i = 0; i < requests.size(); ++i) {
    const RewardRequest& request = requests[i];
    const RewardType type = request.type == RewardType::kUnspecified ? config_.type : request.type;
    switch (type) {
      case RewardType::kActionL1: {
        ActionJob job{i, {}};
        VLARFT_ASSIGN_OR_RETURN(job.pair, PrepareActionPair(request.actions, request.reference_actions,
                                                            FieldName(name_by_index, i, "actions"),
                                                            FieldName(name_by_index, i, "reference_actions"), device_));
        action_jobs.push_back(std::move(job));
        break;
      }
      case RewardType::kImaginedVsReal:
      case RewardType::kImaginedVsImaginedExpert: {
        // The same preparation and scoring for both: only where the reference came from differs.
        FrameJob job;
        job.request = i;
        VLARFT_ASSIGN_OR_RETURN(
            job.pair, PrepareFramePair(request.frames, request.reference_frames, FieldName(name_by_index, i, "frames"),
                                       FieldName(name_by_index, i, "reference_frames"), device_, min_size));
        frame_jobs.push_back(std::move(job));
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat(FieldName(name_by_index, i, "type"),
                                                       ": unknown reward type ", static_cast<int>(type)));
    }
  }

  std::vector<RewardBreakdown> out(requests.size());
  torch::NoGradGuard no_grad;
  // 2. Pixel L1 per frame; the reference broadcasts over the group ([1, T] or [G, T]).
  absl::Status status = core::CatchTorchErrorsVoid("reward l1", [&]() {
    for (FrameJob& job : frame_jobs) {
      job.per_frame_l1 = (job.pair.trajectories - job.pair.reference).abs().mean({2, 3, 4});
      job.per_frame_perceptual = torch::zeros_like(job.per_frame_l1);
    }
  });
  VLARFT_RETURN_IF_ERROR(status);

  // 3. D_p: one network pass per frame size over all trajectories and unique references.
  if (distance_ != nullptr && !frame_jobs.empty()) {
    std::map<std::pair<int64_t, int64_t>, std::vector<FrameJob*>> by_size;
    for (FrameJob& job : frame_jobs) {
      by_size[{job.pair.trajectories.size(3), job.pair.trajectories.size(4)}].push_back(&job);
    }
    for (auto& [size, jobs] : by_size) {
      std::vector<torch::Tensor> images, references, indices;
      std::vector<int64_t> counts;
      int64_t reference_offset = 0;
      status = core::CatchTorchErrorsVoid("reward perceptual batch", [&]() {
        const auto index_options = torch::TensorOptions().dtype(torch::kInt64).device(device_);
        for (FrameJob* job : jobs) {
          const int64_t g = job->pair.trajectories.size(0), t = job->pair.trajectories.size(1);
          const int64_t r = job->pair.reference.size(0);
          images.push_back(job->pair.trajectories.flatten(0, 1));
          references.push_back(job->pair.reference.flatten(0, 1));
          // Row g·T + t of this job compares with its reference frame t (shared) or g·T + t.
          torch::Tensor index = r == 1 ? torch::arange(t, index_options).repeat({g}) : torch::arange(g * t, index_options);
          indices.push_back(index + reference_offset);
          reference_offset += r * t;
          counts.push_back(g * t);
        }
      });
      VLARFT_RETURN_IF_ERROR(status);
      absl::StatusOr<torch::Tensor> distances =
          distance_->DistanceToReferences(torch::cat(images), torch::cat(references), torch::cat(indices));
      if (!distances.ok()) {
        return core::Annotate(distances.status(), absl::StrCat("scoring ", jobs.size(), " group(s) of ", size.first,
                                                               "x", size.second, " frames"));
      }
      status = core::CatchTorchErrorsVoid("reward perceptual split", [&]() {
        const std::vector<torch::Tensor> parts = distances->split_with_sizes(counts);
        for (size_t j = 0; j < jobs.size(); ++j) {
          jobs[j]->per_frame_perceptual = parts[j].view({jobs[j]->pair.trajectories.size(0), -1});
        }
      });
      VLARFT_RETURN_IF_ERROR(status);
    }
  }

  // 4. Aggregate.
  status = core::CatchTorchErrorsVoid("reward aggregation", [&]() {
    for (const FrameJob& job : frame_jobs) {
      out[job.request] = ToCpu(AssembleFrameReward(job.per_frame_l1, job.per_frame_perceptual, config_.w_l1,
                                                   config_.w_perceptual, aggregation_, config_.gamma));
    }
    for (const ActionJob& job : action_jobs) out[job.request] = ToCpu(ActionReward(job.pair));
  });
  VLARFT_RETURN_IF_ERROR(status);
  return out;
}

}  // namespace vlarft::reward
