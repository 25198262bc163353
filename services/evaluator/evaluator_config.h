// The `evaluator:` section of the config document (`vlarft-evaluator --help`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/core/mixed_precision.h"
#include "services/common/client.h"

namespace vlarft::services {

struct EvaluatorConfig {
  // The policy RFT starts from: its architecture and frozen parts; the learner's versions replace
  // its trainable tensors. Evaluated first, as the baseline the alerts compare against.
  std::string policy_checkpoint;
  std::vector<std::string> suites;   // empty = all four
  int64_t episodes_per_task = 5;     // 200 episodes per version over the 40 tasks
  uint64_t seed = 1000;              // the same scenes and noise for every version: versions pair
  int64_t threads = 1;               // benchmark worker threads
  std::string mixed_precision = "auto";
  std::string device = "cpu";
  int64_t torch_threads = 1;
  double weight_wait_s = 30;         // one long-poll for a newer version
  int64_t version_stride = 1;        // > 1: evaluate about once per this many versions
  std::string results_file;          // append one JSON line per evaluation (empty: none)
  ClientOptions learner;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("policy_checkpoint", policy_checkpoint, "stem of the policy RFT starts from (evaluated first, as the baseline)");
    v.Field("suites", suites, "benchmark suites to evaluate (empty = all)");
    v.Field("episodes_per_task", episodes_per_task, "episodes per task and policy version");
    v.Field("seed", seed, "episode seed: every version faces the same scenes");
    v.Field("threads", threads, "benchmark worker threads");
    v.Field("mixed_precision", mixed_precision, "none | bf16 | auto (bf16 where the CPU runs it natively)");
    v.Field("device", device, "where the policy runs: cpu | cuda | cuda:N");
    v.Field("torch_threads", torch_threads, "intra-op threads (0 = default)");
    v.Field("weight_wait_s", weight_wait_s, "seconds one long-poll for a newer policy version waits");
    v.Field("version_stride", version_stride,
            "evaluate the first version at or past each multiple of this (1 = the newest version, always)");
    v.Field("results_file", results_file, "append one JSON line per evaluation here (empty = none)");
    v.Field("learner", learner);
  }

  absl::Status Validate() const {
    if (policy_checkpoint.empty()) return absl::InvalidArgumentError("policy_checkpoint is required");
    if (episodes_per_task < 1 || threads < 1) {
      return absl::InvalidArgumentError(absl::StrCat("need episodes_per_task >= 1 and threads >= 1, got ",
                                                     episodes_per_task, " and ", threads));
    }
    if (weight_wait_s <= 0) return absl::InvalidArgumentError("weight_wait_s must be > 0");
    if (version_stride < 1) return absl::InvalidArgumentError("version_stride must be >= 1");
    return core::ValidateMixedPrecision(mixed_precision, "mixed_precision");
  }
};

}  // namespace vlarft::services
