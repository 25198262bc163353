#include "libs/models/supervised_training_loop.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/clock_format.h"
#include "libs/core/status.h"

namespace vlarft::models {

double LrSchedule::At(int64_t step) const {
  if (step < warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const double progress =
      static_cast<double>(step - warmup_steps) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
  return peak * (final_fraction + (1.0 - final_fraction) * cosine);
}

absl::Status RunTrainingLoop(const TrainingLoopSpec& spec, int64_t start_step, torch::optim::AdamW& optimizer,
                             const std::vector<torch::Tensor>& parameters, const TrainingLoopHooks& hooks,
                             const std::function<void(const std::string&)>& progress, TrainingLoopResult& result) {
  result.complete = false;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  double window_loss = 0;
  int64_t window = 0;
  // Besides the logged points (every log_every steps, which make the loss curve), a line whenever
  // 10 s pass without one, so a slow run never looks hung.
  constexpr double kMaxSilenceSeconds = 10;
  double last_line = 0;
  for (int64_t step = start_step; step < spec.steps; ++step) {
    const double lr = spec.schedule.At(step);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor loss, hooks.loss(step));
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      return absl::InternalError(absl::StrCat("non-finite loss at step ", step, "; lower the learning rate"));
    }
    loss.backward();
    if (spec.grad_clip > 0) torch::nn::utils::clip_grad_norm_(parameters, spec.grad_clip);
    optimizer.step();
    window_loss += value;
    ++window;

    const int64_t done = step + 1;
    const bool logged_point = done % spec.log_every == 0 || done == spec.steps;
    if (logged_point || elapsed() - last_line >= kMaxSilenceSeconds) {
      last_line = elapsed();
      const double per_step = last_line / static_cast<double>(done - start_step);
      progress(absl::StrFormat("step %d/%d loss %.4f lr %.2e  %.2f steps/s  elapsed %s  ETA %s", done, spec.steps,
                               window_loss / window, lr, 1.0 / per_step, core::FormatClock(last_line),
                               core::FormatClock(per_step * static_cast<double>(spec.steps - done))));
    }
    if (logged_point) {
      result.train_loss.emplace_back(done, window_loss / window);
      window_loss = 0;
      window = 0;
    }
    const bool validate_now = (spec.validate_every > 0 && done % spec.validate_every == 0) || done == spec.steps;
    if (validate_now && hooks.validate) VLARFT_RETURN_IF_ERROR(hooks.validate(done));
    const bool time_boxed =
        spec.stop_after_steps > 0 && done - start_step >= spec.stop_after_steps && done < spec.steps;
    const bool periodic = spec.checkpoint_every > 0 && done % spec.checkpoint_every == 0;
    if ((periodic || time_boxed) && hooks.checkpoint) VLARFT_RETURN_IF_ERROR(hooks.checkpoint(done));
    if (time_boxed) {
      result.seconds = elapsed();
      return absl::OkStatus();
    }
  }
  result.seconds = elapsed();
  result.complete = true;
  return absl::OkStatus();
}

YAML::Node HistoryToYaml(const std::vector<std::pair<int64_t, double>>& history) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& [step, value] : history) {
    YAML::Node item(YAML::NodeType::Sequence);
    item.push_back(step);
    item.push_back(value);
    item.SetStyle(YAML::EmitterStyle::Flow);
    node.push_back(item);
  }
  return node;
}

std::vector<std::pair<int64_t, double>> HistoryFromYaml(const YAML::Node& node) {
  std::vector<std::pair<int64_t, double>> history;
  if (!node.IsDefined() || !node.IsSequence()) return history;
  for (const YAML::Node& item : node) {
    if (item.IsSequence() && item.size() == 2) history.emplace_back(item[0].as<int64_t>(0), item[1].as<double>(0.0));
  }
  return history;
}

}  // namespace vlarft::models
