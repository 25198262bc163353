// Quality of imagination (docs/results.md, performance sections): imagined frames vs the real frames that followed the
// expert's actions on held-out demonstrations, per horizon step k = 1 … T: PSNR, SSIM, MSE and the
// tokenizer perceptual distance (the reward's default D_p). Two references frame the numbers:
//   reconstruction  the real future frames through the tokenizer (encode against o_t, decode): the
//                   best any world model on this tokenizer can do;
//   copy context    o_t repeated: what a model that ignores the actions would score.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/models/video_data.h"
#include "libs/models/imagination_engine.h"
#include "libs/viz/image.h"
#include "nlohmann/json.hpp"

namespace vlarft::cli {

struct WorldModelEvalOptions {
  int64_t prompts = 64;          // held-out clips
  int64_t frames = 8;            // horizon in frames (one chunk of 8 actions)
  int64_t samples = 1;           // imagined sequences per prompt (metrics are averaged over them)
  int64_t groups_per_batch = 16; // prompts imagined together in one decode loop
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 0.0;
  bool greedy = true;
  uint64_t seed = 0;
  int64_t strips = 6;            // prompts drawn as real | imagined strips

  template <typename V>
  void VisitFields(V& v) {
    v.Field("prompts", prompts, "held-out clips to imagine");
    v.Field("frames", frames, "imagined frames per clip (8 = one action chunk)");
    v.Field("samples", samples, "imagined sequences per clip");
    v.Field("groups_per_batch", groups_per_batch, "clips imagined together in one decode loop");
    v.Field("temperature", temperature, "sampling temperature (when not greedy)");
    v.Field("top_k", top_k, "top-k (0 = off)");
    v.Field("top_p", top_p, "top-p (0 = off)");
    v.Field("greedy", greedy, "argmax decoding");
    v.Field("seed", seed, "seed of clip selection and sampling");
    v.Field("strips", strips, "clips drawn as real | imagined strips");
  }
};

struct StepMetrics {
  double psnr = 0, ssim = 0, mse = 0, perceptual = 0;
};

struct WorldModelEvalReport {
  std::vector<StepMetrics> imagined, reconstruction, copy_context;  // index k − 1
  int64_t prompts = 0, samples = 0;
  double imagine_seconds = 0;  // wall time of the imagination calls
  int64_t imagined_frames = 0;
  std::vector<viz::Image> strips;  // per drawn prompt: row 1 real o_t … o_t+T, row 2 o_t + imagined
};

absl::StatusOr<WorldModelEvalReport> EvaluateWorldModel(models::ImaginationEngine& engine,
                                                        models::VideoDataSource& data,
                                                        const WorldModelEvalOptions& options);

nlohmann::json ReportToJson(const WorldModelEvalReport& report, const WorldModelEvalOptions& options);
std::string ReportToMarkdown(const WorldModelEvalReport& report);
// PSNR per horizon step for the three rows of the report.
viz::Image PsnrPlot(const WorldModelEvalReport& report);

}  // namespace vlarft::cli
