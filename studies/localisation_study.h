// How fast can a vision encoder learn *where* the instruction's object is? The SFT policy's failure
// mode (docs/results.md) is localisation: it reaches, descends and closes 5-10 cm from the object.
// This study isolates that skill: a model sees the frame, the instruction and the proprio state and
// regresses the demonstration's subgoal — the gripper's (x, y) at its next open/close
// (training::NextGripperFlipXy: the grasp point, then the release point) — with nothing else to learn. The
// curve of held-out RMS error in centimetres against steps says how many SFT steps localisation
// needs (a grasp needs ~3 cm) and whether an architecture learns it faster:
//   cnn     a small reference CNN: two stride-1 convolutions after one stride-2, instruction FiLM,
//           16 spatial-softmax keypoints at 32x32 and an MLP — the classic visuomotor localiser;
//   heatmap the instruction-conditioned heat-map localiser (models::TargetLocaliser), alone — the
//           policy's subgoal head (policy.subgoal_localiser).
// (A linear or keypoint-MLP head on the policy encoder's pooled context lost to the heat map,
// docs/results.md, and was removed with its "policy" model here.)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/policy.h"
#include "libs/training/demo_policy_data.h"

namespace vlarft::studies {

struct LocalisationStudyOptions {
  std::string model = "heatmap";  // cnn | heatmap
  int64_t heatmap_channels = 48;  // with model heatmap
  int64_t heatmap_scene = 0;      // with model heatmap: pooled scene channels refining the query
  std::string heatmap_loss = "expected";  // with model heatmap: expected | estimate
  double far_m = 0;               // > 0: weight errors by min(1, gripper-to-subgoal distance / far_m)
  int64_t steps = 800;
  int64_t batch_size = 32;
  double lr = 5e-4;
  int64_t warmup_steps = 100;
  int64_t log_every = 100;
  int64_t validation_batches = 4;
  uint64_t seed = 0;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("model", model,
            "cnn (reference spatial-softmax CNN) | heatmap (instruction-conditioned heat-map localiser, "
            "models::TargetLocaliser: the policy's subgoal head)");
    v.Field("heatmap_channels", heatmap_channels, "with model heatmap: its width");
    v.Field("heatmap_scene", heatmap_scene,
            "with model heatmap: 0 = off; > 0 = pooled scene features of this width refine the query "
            "(policy.subgoal_localiser.scene_channels)");
    v.Field("heatmap_loss", heatmap_loss,
            "with model heatmap: expected (squared distance to the target averaged over the heat map: commits to one "
            "place) | estimate (squared error of the soft-argmax estimate)");
    v.Field("far_m", far_m,
            "> 0: weight each training frame's error by min(1, gripper-to-subgoal distance / far_m, metres), as "
            "policy_training.subgoal_far_m does (0 = equal weights)");
    v.Field("steps", steps, "AdamW steps");
    v.Field("batch_size", batch_size, "(frame, subgoal) pairs per step");
    v.Field("lr", lr, "peak learning rate (linear warm-up, then constant)");
    v.Field("warmup_steps", warmup_steps, "learning-rate warm-up steps");
    v.Field("log_every", log_every, "report train and held-out RMS every this many steps");
    v.Field("validation_batches", validation_batches, "held-out batches per report");
    v.Field("seed", seed, "initialisation and data seed");
  }
  absl::Status Validate() const;
};

struct LocalisationPoint {
  int64_t step = 0;
  double train_rms_cm = 0;       // since the previous report, per table-plane coordinate
  double validation_rms_cm = 0;  // held-out episodes
  // Held-out frames whose gripper is >= models::kFarFromSubgoalM from the subgoal: the gripper's position
  // nearly gives the answer on the others, so this is the figure that says whether the target is found.
  double validation_far_rms_cm = 0;
  double validation_carrying_rms_cm = 0;  // held-out frames where the gripper carries an object
  double seconds = 0;
};

// Trains the chosen model on `data` (its training split) and reports the curve; `config` (the
// policy's) gives the instruction length.
absl::StatusOr<std::vector<LocalisationPoint>> RunLocalisationStudy(
    const models::PolicyConfig& config, training::DemoPolicyData& data, const LocalisationStudyOptions& options,
    const std::function<void(const LocalisationPoint&)>& progress);

}  // namespace vlarft::studies
