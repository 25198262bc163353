// Linear layers that stay fast on Debian's LibTorch, whose CPU build calls the *reference*
// libblas.so.3 for torch::mm / linear / bmm (≈ 5 GFLOPS on the 2-core CI box; the project does not
// install OpenBLAS, see deploy/install-deps.sh). On the CPU in float32, products with at least 16
// rows go through oneDNN as a 1x1 convolution instead (≈ 6x faster, same float32 math, autograd
// intact); everywhere else (CUDA, other dtypes, few rows, tiny products, no oneDNN) it is the plain
// linear. Batched products (attention) are core::BatchedMatmul and core::ScaledDotProductAttention:
// on one thread LibTorch 1.13 would run the grouped convolution once per group on the reference
// BLAS (docs/results.md, "Which path for which product").
#pragma once

#include "libs/core/torch_compat.h"

namespace vlarft::models {

// y = x W^T + b for x [..., in], weight [out, in], bias [out] (or undefined).
torch::Tensor FastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

}  // namespace vlarft::models
