// Matrix products that stay fast on Debian's LibTorch, whose CPU build calls the *reference*
// libblas.so.3 for torch::mm / linear / bmm (≈ 5 GFLOPS on the 2-core CI box; the project does not
// install OpenBLAS, see deploy/install-deps.sh). On the CPU in float32 these route the product
// through oneDNN as a 1x1 convolution instead (≈ 10x faster, same float32 math, autograd intact);
// everywhere else (CUDA, other dtypes, tiny products, no oneDNN) they are the plain LibTorch ops.
#pragma once

#include <optional>

#include "libs/core/batched_matmul.h"
#include "libs/core/torch_compat.h"

namespace vlarft::models {

// y = x W^T + b for x [..., in], weight [out, in], bias [out] (or undefined).
torch::Tensor FastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

// a [..., M, K] × b [..., K, N] with identical leading dimensions -> [..., M, N]: large products
// as the grouped convolution, small ones through core::BatchedMatmul (one pass over the batch).
torch::Tensor FastBatchedMatmul(const torch::Tensor& a, const torch::Tensor& b);

// softmax(q kᵀ / √d + mask) v over [..., L, d] tensors: with the products above on the CPU in
// float32 (softmax in float32), else core::ScaledDotProductAttention (fused kernels on LibTorch 2.x). `mask` (bool, broadcastable to [..., Lq, Lk], true = may attend) and/or `causal`
// (top-left aligned, Lq == Lk).
torch::Tensor FastAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const std::optional<torch::Tensor>& mask, bool causal);

}  // namespace vlarft::models
