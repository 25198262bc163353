#include "tools/vlarft/world_model_eval.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/progress_meter.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/reward/image_metrics.h"

namespace vlarft::cli {
namespace {

// Per-frame PSNR is capped: identical frames (the copy baseline when the arm pauses) would be +inf,
// and 60 dB is already below one grey level of error (≈ 58.9 dB).
constexpr double kPsnrCapDb = 60.0;

// Sums of per-frame metrics per horizon step.
struct Accumulator {
  std::vector<StepMetrics> sums;
  std::vector<int64_t> counts;

  explicit Accumulator(int64_t steps) : sums(steps), counts(steps, 0) {}

  // predicted / real: uint8 [N, T, H, W, 3] (N may repeat a prompt for several samples).
  absl::Status Add(models::VideoTokenizer& tokenizer, const torch::Tensor& predicted, const torch::Tensor& real) {
    const int64_t steps = real.size(1);
    for (int64_t k = 0; k < steps; ++k) {
      const torch::Tensor a = predicted.select(1, k).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0;
      const torch::Tensor b = real.select(1, k).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0;
      VLARFT_ASSIGN_OR_RETURN(torch::Tensor psnr, reward::Psnr(a, b));
      VLARFT_ASSIGN_OR_RETURN(torch::Tensor ssim, reward::Ssim(a, b));
      VLARFT_ASSIGN_OR_RETURN(torch::Tensor mse, reward::Mse(a, b));
      torch::Tensor perceptual;
      {
        torch::NoGradGuard no_grad;
        perceptual = tokenizer->PerceptualDistance((a * 2 - 1).to(tokenizer->device()), (b * 2 - 1).to(tokenizer->device()));
      }
      sums[k].psnr += psnr.clamp_max(kPsnrCapDb).sum().item<double>();
      sums[k].ssim += ssim.sum().item<double>();
      sums[k].mse += mse.sum().item<double>();
      sums[k].perceptual += perceptual.sum().item<double>();
      counts[k] += a.size(0);
    }
    return absl::OkStatus();
  }

  std::vector<StepMetrics> Means() const {
    std::vector<StepMetrics> out(sums.size());
    for (size_t k = 0; k < sums.size(); ++k) {
      const double n = static_cast<double>(std::max<int64_t>(1, counts[k]));
      out[k] = {sums[k].psnr / n, sums[k].ssim / n, sums[k].mse / n, sums[k].perceptual / n};
    }
    return out;
  }
};

// Real future frames through the tokenizer: dyn tokens against o_t, decoded.
torch::Tensor Reconstruct(models::VideoTokenizer& tokenizer, const torch::Tensor& frames) {
  torch::NoGradGuard no_grad;
  const int64_t steps = frames.size(1) - 1;
  const torch::Device device = tokenizer->device();
  const models::ContextEncoding ctx = tokenizer->EncodeContext(models::FramesToModel(frames.select(1, 0), device));
  const torch::Tensor future = models::FramesToModel(frames.narrow(1, 1, steps).flatten(0, 1), device);
  const torch::Tensor codes = tokenizer->EncodeFuture(future, ctx).first;
  const torch::Tensor images = tokenizer->DecodeFuture(codes, ctx);
  return models::ModelToFrames(images).view(frames.narrow(1, 1, steps).sizes());
}

viz::Image Strip(const torch::Tensor& real, const torch::Tensor& imagined) {
  // real [T + 1, H, W, 3]; imagined [T, H, W, 3]. Row 2 starts with the context frame too.
  const int64_t steps = imagined.size(0), size = real.size(1);
  std::vector<viz::Image> tiles;
  auto tile = [&](const torch::Tensor& frame) {
    const torch::Tensor f = frame.contiguous();
    return viz::Image::FromPixels(static_cast<int>(size), static_cast<int>(size), f.data_ptr<uint8_t>());
  };
  for (int64_t k = 0; k <= steps; ++k) tiles.push_back(tile(real[k]));
  tiles.push_back(tile(real[0]));
  for (int64_t k = 0; k < steps; ++k) tiles.push_back(tile(imagined[k]));
  return viz::Grid(tiles, static_cast<int>(steps + 1), /*gap=*/2, /*scale=*/2);
}

nlohmann::json MetricsJson(const std::vector<StepMetrics>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t k = 0; k < rows.size(); ++k) {
    out.push_back({{"step", k + 1}, {"psnr", rows[k].psnr}, {"ssim", rows[k].ssim}, {"mse", rows[k].mse},
                   {"perceptual", rows[k].perceptual}});
  }
  return out;
}

StepMetrics Mean(const std::vector<StepMetrics>& rows) {
  StepMetrics m;
  for (const StepMetrics& r : rows) {
    m.psnr += r.psnr / rows.size();
    m.ssim += r.ssim / rows.size();
    m.mse += r.mse / rows.size();
    m.perceptual += r.perceptual / rows.size();
  }
  return m;
}

}  // namespace

absl::StatusOr<WorldModelEvalReport> EvaluateWorldModel(models::ImaginationEngine& engine,
                                                        models::VideoDataSource& data,
                                                        const WorldModelEvalOptions& options) {
  if (options.prompts < 1 || options.frames < 1 || options.samples < 1 || options.groups_per_batch < 1) {
    return absl::InvalidArgumentError("prompts, frames, samples and groups_per_batch must be >= 1");
  }
  models::VideoTokenizer tokenizer = engine.tokenizer();
  at::Generator generator = core::MakeCpuGenerator(options.seed);
  models::SamplingParams sampling;
  sampling.temperature = options.temperature;
  sampling.top_k = options.top_k;
  sampling.top_p = options.top_p;
  sampling.greedy = options.greedy;
  Accumulator imagined(options.frames), reconstruction(options.frames), copy(options.frames);
  WorldModelEvalReport report;
  report.samples = options.samples;
  core::ProgressMeter meter({"eval world-model", "clips", options.prompts, 10});
  for (int64_t start = 0; start < options.prompts; start += options.groups_per_batch) {
    const int64_t n = std::min(options.groups_per_batch, options.prompts - start);
    VLARFT_ASSIGN_OR_RETURN(models::VideoClips clips, data.SampleClips(n, options.frames, /*validation=*/true, generator));
    std::vector<models::GroupJob> jobs(n);
    for (int64_t i = 0; i < n; ++i) {
      jobs[i].context_frame = clips.frames[i][0];
      jobs[i].actions = clips.actions[i].unsqueeze(0).expand({options.samples, -1, -1}).contiguous();
      for (int64_t s = 0; s < options.samples; ++s) {
        jobs[i].seeds.push_back(core::SeedPath(options.seed).Child(static_cast<uint64_t>(start + i)).Child(s).seed());
      }
      jobs[i].sampling = sampling;
    }
    const auto begin = std::chrono::steady_clock::now();
    VLARFT_ASSIGN_OR_RETURN(std::vector<models::GroupResult> results, engine.ImagineBatch(jobs));
    report.imagine_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::vector<torch::Tensor> predicted, real;
    for (int64_t i = 0; i < n; ++i) {
      predicted.push_back(results[i].frames);
      real.push_back(clips.frames[i].narrow(0, 1, options.frames).unsqueeze(0).expand({options.samples, -1, -1, -1, -1}));
      if (static_cast<int64_t>(report.strips.size()) < options.strips) {
        report.strips.push_back(Strip(clips.frames[i], results[i].frames[0]));
      }
    }
    const torch::Tensor real_future = clips.frames.narrow(1, 1, options.frames);
    VLARFT_RETURN_IF_ERROR(imagined.Add(tokenizer, torch::cat(predicted, 0), torch::cat(real, 0)));
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor recon,
                            core::CatchTorchErrors("tokenizer reconstruction", [&] { return Reconstruct(tokenizer, clips.frames); }));
    VLARFT_RETURN_IF_ERROR(reconstruction.Add(tokenizer, recon, real_future));
    VLARFT_RETURN_IF_ERROR(copy.Add(
        tokenizer, clips.frames.narrow(1, 0, 1).expand({-1, options.frames, -1, -1, -1}), real_future));
    report.imagined_frames += n * options.samples * options.frames;
    meter.Update(start + n);
  }
  report.prompts = options.prompts;
  report.imagined = imagined.Means();
  report.reconstruction = reconstruction.Means();
  report.copy_context = copy.Means();
  return report;
}

nlohmann::json ReportToJson(const WorldModelEvalReport& report, const WorldModelEvalOptions& options) {
  nlohmann::json out;
  out["prompts"] = report.prompts;
  out["samples_per_prompt"] = report.samples;
  out["frames"] = options.frames;
  out["decoding"] = options.greedy ? "greedy" : absl::StrFormat("temperature %.2f top_k %d top_p %.2f",
                                                                options.temperature, options.top_k, options.top_p);
  out["psnr_cap_db"] = kPsnrCapDb;
  out["imagined"] = MetricsJson(report.imagined);
  out["tokenizer_reconstruction"] = MetricsJson(report.reconstruction);
  out["copy_context"] = MetricsJson(report.copy_context);
  out["imagine_seconds"] = report.imagine_seconds;
  out["imagined_frames"] = report.imagined_frames;
  out["imagined_frames_per_second"] = report.imagine_seconds > 0 ? report.imagined_frames / report.imagine_seconds : 0.0;
  return out;
}

std::string ReportToMarkdown(const WorldModelEvalReport& report) {
  std::string md = absl::StrFormat(
      "Imagined vs real frames on %d held-out clips (%d sample(s) each). PSNR in dB (per frame, capped at %.0f), "
      "SSIM, MSE on [0, 1] pixels, perceptual = tokenizer feature distance (lower is better).\n\n",
      report.prompts, report.samples, kPsnrCapDb);
  md += "| step | PSNR | SSIM | MSE | perceptual | PSNR recon. | PSNR copy o_t |\n|---:|---:|---:|---:|---:|---:|---:|\n";
  for (size_t k = 0; k < report.imagined.size(); ++k) {
    const StepMetrics& m = report.imagined[k];
    md += absl::StrFormat("| %d | %.2f | %.4f | %.5f | %.4f | %.2f | %.2f |\n", k + 1, m.psnr, m.ssim, m.mse, m.perceptual,
                          report.reconstruction[k].psnr, report.copy_context[k].psnr);
  }
  const StepMetrics mean = Mean(report.imagined);
  md += absl::StrFormat("| mean | %.2f | %.4f | %.5f | %.4f | %.2f | %.2f |\n", mean.psnr, mean.ssim, mean.mse,
                        mean.perceptual, Mean(report.reconstruction).psnr, Mean(report.copy_context).psnr);
  return md;
}

viz::Image PsnrPlot(const WorldModelEvalReport& report) {
  std::vector<viz::Series> series;
  const std::vector<std::pair<std::string, const std::vector<StepMetrics>*>> rows = {
      {"imagined", &report.imagined}, {"tokenizer recon.", &report.reconstruction}, {"copy o_t", &report.copy_context}};
  for (size_t i = 0; i < rows.size(); ++i) {
    viz::Series s{rows[i].first, {}, {}, viz::PaletteColor(static_cast<int>(i))};
    for (size_t k = 0; k < rows[i].second->size(); ++k) {
      s.x.push_back(static_cast<double>(k + 1));
      s.y.push_back((*rows[i].second)[k].psnr);
    }
    series.push_back(std::move(s));
  }
  viz::PlotOptions plot;
  plot.title = "world model: PSNR per horizon step";
  plot.x_label = "horizon step";
  plot.y_label = "PSNR (dB)";
  return viz::LinePlot(series, plot);
}

}  // namespace vlarft::cli
