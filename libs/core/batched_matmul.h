// Batched products of many small float32 matrices on the CPU: the attention products of the
// policy (one [8 x 32] x [32 x L] product per sample and head) and of the world model's decode step.
//
// Why it exists (docs/world_model.md, "CPU matmuls"): Debian's LibTorch 1.13 runs a float32
// `bmm` as one BLAS call per matrix of the batch. On the reference BLAS (and still on BLIS) the
// per-call cost dominates these small products: the float32 policy evaluation spent a third of its
// time in `aten::bmm` and another 8% in the select/as_strided bookkeeping of that loop. This kernel
// runs the whole batch in one pass, with an AVX2 code path chosen at run time on CPUs that have it
// (any other x86-64 CPU gets the baseline path; the results agree to float32 rounding).
#pragma once

#include <torch/torch.h>

namespace vlarft::core {

// a [..., M, K] x b [..., K, N] -> [..., M, N], the batch dims of a and b equal (no broadcasting).
// Differentiable (the backward pass uses the same kernel). Float32 CPU tensors of any strides take
// the kernel; any other dtype or device, batch dims that differ, or CPU autocast being on (which
// would have run torch::matmul in bf16) go to torch::matmul, so results never change precision.
torch::Tensor BatchedMatmul(const torch::Tensor& a, const torch::Tensor& b);

// True when BatchedMatmul(a, b) runs the kernel rather than torch::matmul.
bool BatchedMatmulUsesKernel(const torch::Tensor& a, const torch::Tensor& b);

// Process-wide switch, on by default: off sends every BatchedMatmul to torch::matmul, so a benchmark
// can time both designs in one run (policy_sampling_bench --batched_matmul_kernel).
void SetBatchedMatmulKernelEnabled(bool enabled);
bool BatchedMatmulKernelEnabled();

// The kernel's instruction set: "avx2" where the CPU has AVX2 and FMA, else "baseline" (SSE2).
// Forcing the baseline lets tests and benchmarks run it on any CPU, as a CPU without AVX2 would.
void SetBatchedMatmulBaselineOnly(bool baseline_only);
const char* BatchedMatmulIsa();

}  // namespace vlarft::core
