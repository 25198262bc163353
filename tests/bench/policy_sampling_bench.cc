// Policy inference/training throughput (docs/results.md, performance sections): chunks per second vs batch size for the
// paths every process runs —
//   encode   the VLM encoder (frames + instruction + proprio -> context tokens),
//   ode      encode + K Euler steps of the flow head (vlarft eval, the success probe),
//   sde      encode + K steps of flow head and sigma net with the chain and log-probs (rollout),
//   logprob  RecomputeChainLogProbs forward + backward (the learner's GRPO step, per chain).
// Weights come from a checkpoint (speed does not depend on their values) or the tiny config.
// A plain CLI reporting medians, not a unit test.
//
//   policy_sampling_bench --policy=checkpoints/tiny/policy_heatmap_15w --batch_sizes=[1,16,64,256]
//
// --matmuls "[kernel, torch]" times each point with the small-matrix kernel (core::BatchedMatmul)
// and with plain torch::matmul (and "baseline": the kernel without AVX2), alternating the calls so
// the ratio comes from one run on one machine.
//
// --profile DIR also records one more (untimed) call of every point with LibTorch's profiler and
// writes DIR/<path>_b<batch>.json (Chrome trace); tools/profile_summary.py lists where the time went.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "libs/core/batched_matmul.h"
#include "libs/core/command_line.h"
#include "tests/bench/bench_main.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/models/policy.h"
#include "libs/rl/flow_sampling.h"
#include "nlohmann/json.hpp"
// The legacy profiler writes Chrome traces in one call; newer LibTorch releases drop its header, and
// --profile then says so instead of failing the build.
#if __has_include("torch/csrc/autograd/profiler_legacy.h")
#include "torch/csrc/autograd/profiler_legacy.h"
#define VLARFT_HAS_LEGACY_PROFILER 1
#endif

namespace vlarft::bench {
namespace {

struct BenchOptions {
  std::string policy = "checkpoints/tiny/policy_heatmap_15w";
  std::vector<int64_t> batch_sizes = {1, 16, 64, 256};
  std::vector<std::string> paths = {"encode", "ode", "sde", "logprob"};
  int64_t repetitions = 3;
  int64_t torch_threads = 2;
  std::string mixed_precision = "none";  // none | bf16
  std::string device = "cpu";
  std::string json;  // write results here too
  std::string profile;  // directory for Chrome traces (empty = off)
  std::vector<std::string> matmuls = {"kernel"};  // kernel | baseline | torch

  template <typename V>
  void VisitFields(V& v) {
    v.Field("policy", policy, "policy checkpoint stem");
    v.Field("batch_sizes", batch_sizes, "chunks per call");
    v.Field("paths", paths, "which of encode | ode | sde | logprob to time");
    v.Field("repetitions", repetitions, "timed calls per point (median reported), after one warm-up call");
    v.Field("torch_threads", torch_threads, "LibTorch intra-op threads");
    v.Field("mixed_precision", mixed_precision, "none | bf16 (autocast around every call, as vlarft eval --mixed_precision)");
    v.Field("device", device, "cpu | cuda");
    v.Field("json", json, "also write the results to this JSON file");
    v.Field("profile", profile, "directory: also profile one untimed call per point into <path>_b<batch>.json");
    v.Field("matmuls", matmuls,
            "small batched products through: kernel (core::BatchedMatmul, AVX2 where the CPU has it) | "
            "baseline (the kernel without AVX2) | torch (torch::matmul); several = alternating calls");
  }
};

// Median seconds per variant; the variants' calls alternate so drift on a shared machine hits all
// of them alike. Each call ends by reading a scalar back, which also waits for queued CUDA work.
std::vector<double> MedianSeconds(int64_t repetitions, const std::vector<std::function<void()>>& variants) {
  for (const auto& call : variants) call();  // warm-up: allocator, oneDNN primitive caches
  std::vector<std::vector<double>> seconds(variants.size());
  for (int64_t r = 0; r < repetitions; ++r) {
    for (size_t v = 0; v < variants.size(); ++v) {
      const auto start = std::chrono::steady_clock::now();
      variants[v]();
      seconds[v].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  std::vector<double> medians;
  for (auto& s : seconds) {
    std::sort(s.begin(), s.end());
    medians.push_back(s[s.size() / 2]);
  }
  return medians;
}

// Sets the process-wide switches of core::BatchedMatmul for one variant name.
absl::Status SelectMatmul(const std::string& name) {
  if (name != "kernel" && name != "baseline" && name != "torch") {
    return absl::InvalidArgumentError("unknown matmuls entry '" + name + "' (kernel | baseline | torch)");
  }
  core::SetBatchedMatmulKernelEnabled(name != "torch");
  core::SetBatchedMatmulBaselineOnly(name == "baseline");
  return absl::OkStatus();
}

absl::Status Run(const BenchOptions& options) {
  torch::set_num_threads(static_cast<int>(options.torch_threads));
  const torch::Device device(options.device);
  VLARFT_ASSIGN_OR_RETURN(models::VlaPolicy policy, models::LoadPolicy(options.policy));
  policy->to(device);
  policy->eval();
  const models::PolicyConfig& config = policy->config();
  const int64_t size = config.encoder.image_size, chunk = config.chunk_length, dims = config.action_dim;
  const std::string instruction = "pick up the red cube and place it in the basket";
  if (options.mixed_precision != "none" && options.mixed_precision != "bf16") {
    return absl::InvalidArgumentError("mixed_precision must be none or bf16");
  }
#ifndef VLARFT_HAS_LEGACY_PROFILER
  if (!options.profile.empty()) return absl::UnimplementedError("--profile: this LibTorch has no legacy profiler");
#endif
  if (options.matmuls.empty()) return absl::InvalidArgumentError("matmuls must name at least one variant");
  for (const std::string& name : options.matmuls) VLARFT_RETURN_IF_ERROR(SelectMatmul(name));
  std::cout << absl::StrFormat("policy %s, %d flow steps, %d torch threads, %s, mixed precision %s, CPU kernel isa %s\n",
                               options.policy, config.flow_steps, options.torch_threads, options.device,
                               options.mixed_precision, core::BatchedMatmulIsa());
  std::cout << "path     batch  matmul    ms/call  chunks/s\n";
  nlohmann::json results = nlohmann::json::array();
  for (const int64_t batch : options.batch_sizes) {
    models::PolicyObservation obs{torch::randint(0, 256, {batch, size, size, 3}, torch::kUInt8),
                                  std::vector<std::string>(batch, instruction),
                                  torch::rand({batch, config.proprio_dim})};
    at::Generator generator = core::MakeCpuGenerator(1);  // SampleSde draws its noise on the CPU
    const torch::Tensor x0 = torch::randn({batch, chunk, dims}).to(device);
    for (const std::string& path : options.paths) {
      std::function<void()> call;
      if (path == "encode" || path == "ode" || path == "sde") {
        call = [&] {
          torch::NoGradGuard no_grad;
          const models::PolicyContext context = *policy->Encode(obs, /*allow_unknown_words=*/true);
          torch::Tensor out = context.tokens;
          if (path == "ode") out = rl::SampleOde(*policy, context, x0);
          if (path == "sde") out = rl::SampleSde(*policy, context, x0, generator).log_probs;
          out.sum().item<double>();
        };
      } else if (path == "logprob") {
        torch::Tensor chain;
        {
          torch::NoGradGuard no_grad;
          chain = rl::SampleSde(*policy, *policy->Encode(obs, true), x0, generator).chain;
        }
        call = [&, chain] {
          const models::PolicyContext context = *policy->Encode(obs, true);
          rl::RecomputeChainLogProbs(*policy, context, chain).log_probs.sum().backward();
          policy->zero_grad();
          context.tokens.sum().item<double>();
        };
      } else {
        return absl::InvalidArgumentError("unknown path '" + path + "' (encode | ode | sde | logprob)");
      }
      const bool bf16 = options.mixed_precision == "bf16";
      std::vector<std::function<void()>> variants;
      for (const std::string& name : options.matmuls) {
        variants.push_back([&, name] {
          (void)SelectMatmul(name);  // validated above
          core::AutocastScope autocast(device.type(), bf16);
          call();
        });
      }
      const std::vector<double> seconds = MedianSeconds(options.repetitions, variants);
      for (size_t v = 0; v < variants.size(); ++v) {
        std::cout << absl::StrFormat("%-8s %5d  %-8s %8.1f %9.0f\n", path, batch, options.matmuls[v], 1e3 * seconds[v],
                                     batch / seconds[v])
                  << std::flush;
        results.push_back({{"path", path}, {"batch", batch}, {"matmul", options.matmuls[v]}, {"seconds", seconds[v]},
                           {"chunks_per_s", batch / seconds[v]}});
      }
#ifdef VLARFT_HAS_LEGACY_PROFILER
      if (!options.profile.empty()) {
        (void)SelectMatmul(options.matmuls.front());
        std::filesystem::create_directories(options.profile);
        const std::string trace = absl::StrFormat("%s/%s_b%d.json", options.profile, path, batch);
        {
          torch::autograd::profiler::RecordProfile profile(trace);
          core::AutocastScope autocast(device.type(), bf16);
          call();
        }
        std::cout << "  profile: " << trace << " (" << options.matmuls.front() << ")\n";
      }
#endif
    }
  }
  if (!options.json.empty()) std::ofstream(options.json) << results.dump(2) << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace vlarft::bench

int main(int argc, char** argv) {
  return vlarft::bench::BenchMain<vlarft::bench::BenchOptions>(argc, argv, "policy_sampling_bench", vlarft::bench::Run);
}
