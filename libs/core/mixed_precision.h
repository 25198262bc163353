// `mixed_precision: none | bf16 | auto` — whether a command runs its matmuls and convolutions
// under bfloat16 autocast. `auto` (the default everywhere) uses bf16 only where the device runs it
// natively: CUDA, or a CPU with AVX512-BF16 or AMX-BF16 that oneDNN is allowed to use. On other
// CPUs (AVX2 only, say) oneDNN emulates bf16 and is ~15x slower than float32 (docs/results.md,
// "Which precision"), so `auto` means float32 there.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::core {

// What decides native bf16 on a CPU.
struct CpuBf16Facts {
  bool avx512_bf16 = false;  // /proc/cpuinfo flag avx512_bf16
  bool amx_bf16 = false;     // /proc/cpuinfo flag amx_bf16
  // ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) if set: a cap below AVX512_CORE_BF16 makes oneDNN emulate.
  std::string onednn_max_isa;
};

// Reads this machine's facts (Linux /proc/cpuinfo and the environment; no flags found = none).
CpuBf16Facts DetectCpuBf16Facts();
// The flags of a /proc/cpuinfo text (first "flags" line) and an ISA cap, for tests.
CpuBf16Facts ParseCpuBf16Facts(const std::string& cpuinfo, const std::string& onednn_max_isa);
// True when oneDNN runs bf16 natively on a CPU with these facts.
bool CpuRunsBf16Natively(const CpuBf16Facts& facts);

// INVALID_ARGUMENT naming `field` unless `value` is none, bf16 or auto.
absl::Status ValidateMixedPrecision(const std::string& value, const std::string& field);
// Whether to autocast to bf16 on `device`: none -> false, bf16 -> true, auto -> the rule above (the
// first auto decision per process is logged with its reason).
absl::StatusOr<bool> UseBf16(const std::string& value, c10::DeviceType device, const std::string& field = "mixed_precision");
// "bf16" or "none": what UseBf16 decided, for logs and result files.
inline const char* PrecisionName(bool bf16) { return bf16 ? "bf16" : "none"; }

}  // namespace vlarft::core
