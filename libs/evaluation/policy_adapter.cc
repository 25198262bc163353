#include "libs/evaluation/policy_adapter.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/rl/flow_sampling.h"

namespace vlarft::evaluation {
namespace {

class VlaPolicyAdapter : public tabletop::Policy {
 public:
  VlaPolicyAdapter(models::VlaPolicy policy, std::string name, PolicyAdapterOptions options)
      : policy_(std::move(policy)), name_(std::move(name)), options_(options), generator_(core::MakeCpuGenerator(options.seed)) {
    policy_->eval();
  }
  std::string name() const override { return name_; }

  // The true subgoal in the proprio normaliser's x/y units, as the subgoal head predicts it.
  torch::Tensor OracleSubgoal(const torch::Tensor& proprio, const torch::Tensor& subgoal_metres) {
    torch::Tensor as_proprio = proprio.clone();
    as_proprio.narrow(1, 0, 2).copy_(subgoal_metres);
    return policy_->proprio_normalizer().Normalize(as_proprio).narrow(1, 0, 2);
  }

  // Distances in metres between estimated and true subgoals (both in normalised units [n, 2]).
  void ReportSubgoalErrors(const std::vector<tabletop::Observation>& observations, size_t begin,
                           const torch::Tensor& estimate, const torch::Tensor& truth) {
    const std::vector<double> lo = policy_->proprio_normalizer().min(), hi = policy_->proprio_normalizer().max();
    const torch::Tensor half_range = torch::tensor({(hi[0] - lo[0]) / 2, (hi[1] - lo[1]) / 2}, torch::kFloat32);
    const torch::Tensor metres = ((estimate.to(torch::kFloat32) - truth.to(torch::kFloat32)).cpu() * half_range).norm(2, 1);
    for (int64_t i = 0; i < metres.size(0); ++i) {
      const tabletop::Observation& o = observations[begin + i];
      options_.subgoal_error(o.task_index, o.step, metres[i].item<double>());
    }
  }

  absl::StatusOr<std::vector<tabletop::ActionChunk>> ActBatch(const std::vector<tabletop::Observation>& observations) override {
    const models::PolicyConfig& config = policy_->config();
    const bool at_once = PartsRunAtOnce();
    std::vector<Part> parts;
    for (size_t begin = 0; begin < observations.size(); begin += options_.max_batch) {
      const size_t end = std::min(observations.size(), begin + static_cast<size_t>(options_.max_batch));
      if (!at_once) {
        parts.push_back(Part{begin, end, torch::Tensor()});  // x0 drawn in Sample, slice after slice
        continue;
      }
      // The ODE's only noise is its start x0: drawn here per slice of max_batch, in order, as on
      // one lane; the slice's rows are then shared out over the lanes.
      const int64_t n = static_cast<int64_t>(end - begin);
      const torch::Tensor x0 = torch::randn({n, config.chunk_length, config.action_dim}, generator_);
      const int64_t per_lane = (n + options_.lanes - 1) / options_.lanes;
      for (int64_t row = 0; row < n; row += per_lane) {
        const int64_t rows = std::min(per_lane, n - row);
        parts.push_back(Part{begin + row, begin + row + rows, x0.narrow(0, row, rows)});
      }
    }
    if (at_once && parts.size() > 1) {
      std::atomic<size_t> next{0};
      std::vector<std::thread> lanes;
      for (int64_t lane = 0; lane < std::min<int64_t>(options_.lanes, parts.size()); ++lane) {
        lanes.emplace_back([&] {
          for (size_t i = next++; i < parts.size(); i = next++) parts[i].actions = Sample(observations, parts[i]);
        });
      }
      for (std::thread& lane : lanes) lane.join();
    } else {
      for (Part& part : parts) part.actions = Sample(observations, part);
    }
    std::vector<tabletop::ActionChunk> out;
    for (Part& part : parts) {
      if (!part.actions.ok()) return part.actions.status();
      auto a = part.actions->accessor<float, 3>();
      for (int64_t i = 0; i < a.size(0); ++i) {
        tabletop::ActionChunk chunk(config.chunk_length);
        for (int64_t k = 0; k < config.chunk_length; ++k) {
          for (int d = 0; d < 7; ++d) chunk[k][d] = a[i][k][d];
        }
        out.push_back(std::move(chunk));
      }
    }
    return out;
  }

 private:
  // Observations [begin, end) of one ActBatch call, sampled in one forward pass.
  struct Part {
    size_t begin = 0, end = 0;
    torch::Tensor x0;  // drawn up front when parts run on several lanes; else drawn in Sample
    absl::StatusOr<torch::Tensor> actions = absl::InternalError("not sampled");
  };

  // Lanes need parts that are independent of the order they run in; the SDE draws noise at every
  // flow step from the one generator, so it keeps one lane.
  bool PartsRunAtOnce() const { return options_.lanes > 1 && !options_.sde; }

  // One part's action chunks, float32 [n, chunk_length, 7] in environment units. Runs on a lane's
  // thread: grad mode and autocast are per thread, so both are set here.
  absl::StatusOr<torch::Tensor> Sample(const std::vector<tabletop::Observation>& observations, const Part& part) {
    torch::NoGradGuard no_grad;
    const models::PolicyConfig& config = policy_->config();
    const int64_t n = static_cast<int64_t>(part.end - part.begin), size = observations[part.begin].size;
    torch::Tensor frames = torch::empty({n, size, size, 3}, torch::kUInt8);
    torch::Tensor proprio = torch::empty({n, 8}, torch::kFloat32);
    torch::Tensor oracle = torch::empty({n, 2}, torch::kFloat32);
    std::vector<std::string> instructions;
    for (int64_t i = 0; i < n; ++i) {
      const tabletop::Observation& o = observations[part.begin + i];
      std::memcpy(frames[i].data_ptr<uint8_t>(), o.frame.data(), o.frame.size());
      std::memcpy(proprio[i].data_ptr<float>(), o.proprio.data(), sizeof(float) * 8);
      std::memcpy(oracle[i].data_ptr<float>(), o.privileged_subgoal.data(), sizeof(float) * 2);
      instructions.push_back(o.instruction);
    }
    torch::Tensor sample;
    {
      core::AutocastScope autocast(policy_->parameters().front().device().type(), options_.bf16);
      VLARFT_ASSIGN_OR_RETURN(models::PolicyContext context, policy_->Encode({frames, instructions, proprio}));
      if (context.subgoal.defined() && (options_.oracle_subgoal || options_.subgoal_error)) {
        const torch::Tensor truth = OracleSubgoal(proprio, oracle).to(context.proprio.device());
        if (options_.subgoal_error) {
          std::lock_guard<std::mutex> lock(report_mu_);  // the caller's callback: one thread at a time
          ReportSubgoalErrors(observations, part.begin, context.subgoal, truth);
        }
        if (options_.oracle_subgoal) context.subgoal = truth;
      }
      const torch::Tensor x0 = part.x0.defined()
                                   ? part.x0
                                   : torch::randn({n, config.chunk_length, config.action_dim}, generator_);
      sample = options_.sde ? rl::SampleSde(*policy_, context, x0, generator_).chain.select(1, config.flow_steps)
                            : rl::SampleOde(*policy_, context, x0);
    }
    return policy_->action_normalizer().Denormalize(sample.to(torch::kFloat32)).contiguous();
  }

  models::VlaPolicy policy_;
  std::string name_;
  PolicyAdapterOptions options_;
  at::Generator generator_;
  std::mutex report_mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<tabletop::Policy>> MakeVlaPolicyAdapter(models::VlaPolicy policy, std::string name,
                                                                       PolicyAdapterOptions options) {
  if (options.lanes < 1 || options.lanes > kMaxPolicyLanes) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": policy lanes is ", options.lanes, "; need 1 to ",
                                                   kMaxPolicyLanes, " forward passes at once"));
  }
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": max_batch is ", options.max_batch, "; need >= 1"));
  }
  if (options.oracle_subgoal && !policy->config().HasSubgoalHead()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": --oracle_subgoal needs a policy with a subgoal head (policy.subgoal_localiser)"));
  }
  return std::make_unique<VlaPolicyAdapter>(std::move(policy), std::move(name), options);
}

}  // namespace vlarft::evaluation
