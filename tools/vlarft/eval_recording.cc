#include "tools/vlarft/eval_recording.h"

#include <filesystem>

#include "absl/strings/str_format.h"
#include "libs/core/status.h"

namespace vlarft::cli {
namespace {

// "g(x,y,z) o(x,y)" in centimetres: the gripper and the first goal's object.
std::string Caption(const tabletop::TabletopEnv& env, int step) {
  const tabletop::Scene& s = env.scene();
  std::string text = absl::StrFormat("t%d g%.0f,%.0f,%.0f", step, 100 * s.gripper.x, 100 * s.gripper.y, 100 * s.gripper.z);
  if (s.gripper.closed) text += s.gripper.holding >= 0 ? "H" : "C";
  if (!env.task().goals.empty()) {
    const int o = s.FindObject(env.task().goals.front().object);
    if (o >= 0) text += absl::StrFormat(" o%.0f,%.0f", 100 * s.objects[o].x, 100 * s.objects[o].y);
  }
  return text;
}

}  // namespace

RecordingPolicy::RecordingPolicy(tabletop::Policy* inner, const std::vector<const tabletop::TabletopEnv*>* envs,
                                 int episodes_per_task, int episodes_per_task_recorded)
    : inner_(inner), envs_(envs), episodes_per_task_(episodes_per_task), recorded_per_task_(episodes_per_task_recorded) {}

absl::StatusOr<std::vector<tabletop::ActionChunk>> RecordingPolicy::ActBatch(
    const std::vector<tabletop::Observation>& observations) {
  for (const tabletop::Observation& o : observations) {
    const int in_task = o.episode % episodes_per_task_;
    if (in_task >= recorded_per_task_ || o.episode >= static_cast<int>(envs_->size())) continue;
    const tabletop::TabletopEnv& env = *(*envs_)[o.episode];
    Recorded& r = episodes_[o.episode];
    r.task = env.task().name;
    r.episode_in_task = in_task;
    viz::Image frame(2 * o.size, 2 * o.size);
    frame.Paste(viz::Image::FromPixels(o.size, o.size, o.frame.data()), 0, 0, 2);
    r.frames.push_back(viz::WithCaption(frame, Caption(env, o.step), 1));
  }
  return inner_->ActBatch(observations);
}

absl::Status RecordingPolicy::WriteStrips(const std::string& dir, const std::string& prefix) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  for (const auto& [episode, r] : episodes_) {
    const std::string path = (std::filesystem::path(dir) / absl::StrFormat("%s%s_ep%d.png", prefix, r.task, r.episode_in_task)).string();
    VLARFT_RETURN_IF_ERROR(viz::WritePng(path, viz::Grid(r.frames, 6, 2, 1)));
  }
  episodes_.clear();
  return absl::OkStatus();
}

}  // namespace vlarft::cli
