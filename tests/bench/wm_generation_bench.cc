// World-model imagination throughput (docs/results.md, performance sections): imagined frames/s and tokens/s per group
// request (G policy samples + the expert reference) vs group size, for the tiny and paper presets,
// comparing
//   cached   the production path: the group's prompt prefilled once (batch 1) and shared by its
//            G + 1 sequences, KV-cached incremental decoding (DecodeMode::kCachedSharedPrefix);
//   baseline the reference design: no prefix sharing, the whole sequence re-prefilled every frame
//            (DecodeMode::kRePrefillPerFrame), and a reference rollout per sample (2G sequences).
// Both produce G + 1 useful trajectories (frames/s counts those); both decode frames to pixels
// unless --decode_frames=false. Weights are random unless checkpoints are given (speed does not
// depend on them). A plain CLI with repetitions (median reported), not a unit test.
//
//   wm_generation_bench --preset=tiny --group_sizes=[1,4,16] --frames=[8,64] --repetitions=3
//   wm_generation_bench --preset=paper --group_sizes=[1] --frames=[2] --repetitions=1
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/batched_matmul.h"
#include "libs/core/command_line.h"
#include "tests/bench/bench_main.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/models/layers.h"
#include "libs/models/imagination_engine.h"
#include "nlohmann/json.hpp"

namespace vlarft::bench {
namespace {

struct BenchOptions {
  std::string preset = "tiny";  // tiny | paper
  std::string tokenizer;        // optional checkpoint stems (else random weights)
  std::string world_model;
  std::vector<int64_t> group_sizes = {1, 4, 16};
  std::vector<int64_t> frames = {8};
  int64_t repetitions = 3;
  bool baseline = true;
  bool decode_frames = true;
  bool static_shapes = false;
  bool bf16_weights = false;
  bool torch_matmul = false;
  int64_t torch_threads = 2;
  std::string device = "cpu";
  std::string json;  // write results here too

  template <typename V>
  void VisitFields(V& v) {
    v.Field("preset", preset, "tiny | paper (model sizes; ignored with checkpoints)");
    v.Field("tokenizer", tokenizer, "tokenizer checkpoint stem (optional)");
    v.Field("world_model", world_model, "world-model checkpoint stem (optional)");
    v.Field("group_sizes", group_sizes, "G, policy samples per group (each group adds 1 expert reference)");
    v.Field("frames", frames, "imagined frames per sequence (8 = one chunk; 64 = horizon 8)");
    v.Field("repetitions", repetitions, "timed runs per point (median reported)");
    v.Field("baseline", baseline, "also time the re-prefill / unshared / per-sample-reference baseline");
    v.Field("decode_frames", decode_frames, "include the tokenizer's frame decoding");
    v.Field("static_shapes", static_shapes,
            "also time the cached path with static shapes (whole-cache attention, rows padded to a bucket)");
    v.Field("bf16_weights", bf16_weights,
            "also time the cached path on a second engine with the same weights in bf16 (EngineLimits::world_model_dtype)");
    v.Field("torch_matmul", torch_matmul,
            "also time the cached path with the small attention products on torch::matmul instead of "
            "core::BatchedMatmul (alternating runs)");
    v.Field("torch_threads", torch_threads, "intra-op threads");
    v.Field("device", device, "cpu | cuda");
    v.Field("json", json, "also write the results as JSON to this file");
  }
};

struct Preset {
  models::TokenizerConfig tokenizer;
  models::WorldModelConfig world_model;
};

Preset MakePreset(const std::string& name) {
  Preset p;  // defaults are the tiny preset (configs/tiny.yaml)
  if (name == "paper") {
    p.tokenizer.image_size = 256;
    p.tokenizer.context_downsample = 8;
    p.tokenizer.future_downsample = 32;
    p.tokenizer.base_channels = 64;
    p.tokenizer.max_channels = 256;
    p.tokenizer.res_blocks = 2;
    p.world_model.layers = 12;
    p.world_model.dim = 768;
    p.world_model.heads = 12;
    p.world_model.ffn = 3072;
  }
  p.world_model = models::WithTokenizerGeometry(p.world_model, p.tokenizer);
  return p;
}

// The same weights every call (checkpoints, or the preset seeded with 0), so a float32 and a bf16
// engine built one after the other differ only in `limits.world_model_dtype`.
absl::StatusOr<models::ImaginationEngine> BuildEngine(const BenchOptions& options, const torch::Device& device,
                                                      models::EngineLimits limits = {}) {
  if (!options.tokenizer.empty() && !options.world_model.empty()) {
    return models::ImaginationEngine::Load(options.tokenizer, options.world_model, device, limits);
  }
  const Preset preset = MakePreset(options.preset);
  VLARFT_RETURN_IF_ERROR(preset.tokenizer.Validate());
  torch::manual_seed(0);
  models::VideoTokenizer tokenizer(preset.tokenizer);
  models::WorldModel model(preset.world_model,
                           models::ActionNormalizer::Create(std::vector<double>(7, -1.0), std::vector<double>(7, 1.0)).value());
  tokenizer->to(device);
  model->to(device);
  std::cout << absl::StrFormat("preset %s: tokenizer %.2fM parameters, world model %.2fM parameters (%d layers x %d)\n",
                               options.preset, models::CountParameters(*tokenizer) / 1e6,
                               models::CountParameters(*model) / 1e6, preset.world_model.layers, preset.world_model.dim);
  return models::ImaginationEngine::Create(tokenizer, model, limits);
}

models::GroupJob MakeJob(const models::ImaginationEngine& engine, int64_t sequences, int64_t frames) {
  const int64_t size = engine.tokenizer()->config().image_size;
  models::GroupJob job;
  job.context_frame = torch::randint(0, 256, {size, size, 3}, torch::kUInt8);
  job.actions = torch::rand({sequences, frames, 7}) * 2 - 1;
  for (int64_t i = 0; i < sequences; ++i) job.seeds.push_back(core::SeedPath(1).Child(static_cast<uint64_t>(i)).seed());
  return job;
}

// Median seconds of one group request.
absl::StatusOr<double> Time(models::ImaginationEngine& engine, const models::GroupJob& job,
                            const models::GenerationOptions& options, int64_t repetitions) {
  std::vector<double> seconds;
  for (int64_t r = 0; r < repetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    VLARFT_RETURN_IF_ERROR(engine.Imagine(job, options).status());
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

absl::Status Run(const BenchOptions& options) {
  torch::set_num_threads(static_cast<int>(options.torch_threads));
  VLARFT_ASSIGN_OR_RETURN(torch::Device device, core::CatchTorchErrors("device", [&] { return torch::Device(options.device); }));
  VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine, BuildEngine(options, device));
  std::optional<models::ImaginationEngine> bf16_engine;
  if (options.bf16_weights) {
    models::EngineLimits limits;
    limits.world_model_dtype = torch::kBFloat16;
    VLARFT_ASSIGN_OR_RETURN(bf16_engine, BuildEngine(options, device, limits));
  }
  const int64_t per_frame = engine.world_model()->config().future_tokens;
  for (int64_t frames : options.frames) {  // the engine's checks on every point before timing the first
    for (int64_t group : options.group_sizes) {
      VLARFT_RETURN_IF_ERROR(core::Annotate(engine.Validate({MakeJob(engine, group + 1, frames)}),
                                            absl::StrCat("G = ", group, " (+1 reference), ", frames, " frames")));
    }
  }
  nlohmann::json results = nlohmann::json::array();
  std::cout << absl::StrFormat("%-8s %6s %6s %12s %12s %12s %12s %10s\n", "preset", "G", "frames", "cached s",
                               "frames/s", "tokens/s", "baseline s", "speedup");
  for (int64_t frames : options.frames) {
    for (int64_t group : options.group_sizes) {
      models::GenerationOptions cached;
      cached.decode_frames = options.decode_frames;
      const models::GroupJob job = MakeJob(engine, group + 1, frames);
      VLARFT_RETURN_IF_ERROR(engine.Imagine(job, cached).status());  // warm-up
      VLARFT_ASSIGN_OR_RETURN(double cached_s, Time(engine, job, cached, options.repetitions));
      const double useful_frames = static_cast<double>((group + 1) * frames);
      nlohmann::json row = {{"preset", options.preset}, {"group_size", group}, {"sequences", group + 1},
                            {"frames", frames}, {"cached_seconds", cached_s},
                            {"cached_frames_per_s", useful_frames / cached_s},
                            {"cached_tokens_per_s", useful_frames * per_frame / cached_s}};
      if (options.static_shapes) {
        models::GenerationOptions fixed = cached;
        fixed.static_shapes = true;
        VLARFT_RETURN_IF_ERROR(engine.Imagine(job, fixed).status());  // warm-up
        VLARFT_ASSIGN_OR_RETURN(double static_s, Time(engine, job, fixed, options.repetitions));
        row["static_seconds"] = static_s;
        row["static_rows"] = models::StaticRowBucket(group + 1);
        std::cout << absl::StrFormat("  static shapes (%d rows padded to %d): %.3f s, %.2fx the growing window\n",
                                     group + 1, models::StaticRowBucket(group + 1), static_s, static_s / cached_s);
      }
      if (options.torch_matmul) {
        // Alternating kernel / torch::matmul runs, so the ratio is not a drift between two blocks.
        std::vector<double> kernel_s, torch_s;
        for (int64_t r = 0; r < options.repetitions; ++r) {
          for (const bool kernel : {true, false}) {
            core::SetBatchedMatmulKernelEnabled(kernel);
            VLARFT_ASSIGN_OR_RETURN(double s, Time(engine, job, cached, 1));
            (kernel ? kernel_s : torch_s).push_back(s);
          }
        }
        core::SetBatchedMatmulKernelEnabled(true);
        std::sort(kernel_s.begin(), kernel_s.end());
        std::sort(torch_s.begin(), torch_s.end());
        const double k = kernel_s[kernel_s.size() / 2], t = torch_s[torch_s.size() / 2];
        row["alternating_kernel_seconds"] = k;
        row["alternating_torch_matmul_seconds"] = t;
        std::cout << absl::StrFormat("  small products, alternating runs: core::BatchedMatmul (%s) %.3f s, "
                                     "torch::matmul %.3f s: %.2fx\n",
                                     core::BatchedMatmulIsa(), k, t, t / k);
      }
      if (bf16_engine) {
        VLARFT_RETURN_IF_ERROR(bf16_engine->Imagine(job, cached).status());  // warm-up
        VLARFT_ASSIGN_OR_RETURN(double bf16_s, Time(*bf16_engine, job, cached, options.repetitions));
        row["bf16_weights_seconds"] = bf16_s;
        std::cout << absl::StrFormat("  bf16 weights and caches: %.3f s, %.2fx the float32 engine\n", bf16_s,
                                     bf16_s / cached_s);
      }
      std::string baseline_text = "-", speedup_text = "-";
      if (options.baseline) {
        models::GenerationOptions reprefill = cached;
        reprefill.mode = models::DecodeMode::kRePrefillPerFrame;
        const models::GroupJob baseline_job = MakeJob(engine, 2 * group, frames);
        VLARFT_ASSIGN_OR_RETURN(double baseline_s, Time(engine, baseline_job, reprefill, options.repetitions));
        row["baseline_sequences"] = 2 * group;
        row["baseline_seconds"] = baseline_s;
        row["baseline_frames_per_s"] = useful_frames / baseline_s;
        row["speedup"] = baseline_s / cached_s;
        baseline_text = absl::StrFormat("%.3f", baseline_s);
        speedup_text = absl::StrFormat("%.2fx", baseline_s / cached_s);
      }
      std::cout << absl::StrFormat("%-8s %6d %6d %12.3f %12.1f %12.1f %12s %10s\n", options.preset, group, frames,
                                   cached_s, useful_frames / cached_s, useful_frames * per_frame / cached_s,
                                   baseline_text, speedup_text)
                << std::flush;
      results.push_back(row);
    }
  }
  if (!options.json.empty()) std::ofstream(options.json) << results.dump(2) << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace vlarft::bench

int main(int argc, char** argv) {
  return vlarft::bench::BenchMain<vlarft::bench::BenchOptions>(argc, argv, "wm_generation_bench", vlarft::bench::Run);
}
