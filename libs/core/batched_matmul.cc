#include "libs/core/batched_matmul.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include "libs/core/torch_compat.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

namespace vlarft::core {
namespace {

std::atomic<bool> kernel_enabled{true};
std::atomic<bool> baseline_only{false};

// The helpers below pass 32-byte vectors by value; they are always inlined, so the SSE/AVX calling
// convention difference GCC warns about never applies.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

// Eight floats, one AVX register (two SSE registers on the baseline path). GCC/Clang vector
// extensions, so the same source compiles for every target below.
using V8 = float __attribute__((vector_size(32)));

#define VLARFT_INLINE inline __attribute__((always_inline))

VLARFT_INLINE V8 Load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
VLARFT_INLINE void Store8(float* p, V8 v) { std::memcpy(p, &v, sizeof v); }
VLARFT_INLINE V8 Splat8(float x) { return V8{x, x, x, x, x, x, x, x}; }
VLARFT_INLINE float Sum8(V8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

// c[M, N] = a[M, K] b[K, N], row-major with row strides lda / ldb (c contiguous). Four accumulators
// of eight columns stay in registers across the whole K loop, so each output is stored once.
VLARFT_INLINE void GemmNNBody(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t M, int64_t K,
                              int64_t N) {
  for (int64_t m = 0; m < M; ++m) {
    const float* arow = a + m * lda;
    float* crow = c + m * N;
    int64_t n = 0;
    for (; n + 32 <= N; n += 32) {
      V8 c0{}, c1{}, c2{}, c3{};
      for (int64_t k = 0; k < K; ++k) {
        const V8 av = Splat8(arow[k]);
        const float* brow = b + k * ldb + n;
        c0 += av * Load8(brow);
        c1 += av * Load8(brow + 8);
        c2 += av * Load8(brow + 16);
        c3 += av * Load8(brow + 24);
      }
      Store8(crow + n, c0);
      Store8(crow + n + 8, c1);
      Store8(crow + n + 16, c2);
      Store8(crow + n + 24, c3);
    }
    for (; n + 8 <= N; n += 8) {
      V8 c0{};
      for (int64_t k = 0; k < K; ++k) c0 += Splat8(arow[k]) * Load8(b + k * ldb + n);
      Store8(crow + n, c0);
    }
    for (; n < N; ++n) {
      float sum = 0.0f;
      for (int64_t k = 0; k < K; ++k) sum += arow[k] * b[k * ldb + n];
      crow[n] = sum;
    }
  }
}

// c[M, N] = a[M, K] bt[N, K]^T (the attention scores q k^T with k as stored), row strides lda /
// ldb: dot products along K, four columns at a time so each load of a's row serves four of them.
VLARFT_INLINE void GemmNTBody(const float* a, int64_t lda, const float* bt, int64_t ldb, float* c, int64_t M, int64_t K,
                              int64_t N) {
  const int64_t k8 = K - K % 8;
  for (int64_t m = 0; m < M; ++m) {
    const float* arow = a + m * lda;
    float* crow = c + m * N;
    int64_t n = 0;
    for (; n + 4 <= N; n += 4) {
      const float* b0 = bt + n * ldb;
      const float* b1 = b0 + ldb;
      const float* b2 = b1 + ldb;
      const float* b3 = b2 + ldb;
      V8 s0{}, s1{}, s2{}, s3{};
      for (int64_t k = 0; k < k8; k += 8) {
        const V8 av = Load8(arow + k);
        s0 += av * Load8(b0 + k);
        s1 += av * Load8(b1 + k);
        s2 += av * Load8(b2 + k);
        s3 += av * Load8(b3 + k);
      }
      float r0 = Sum8(s0), r1 = Sum8(s1), r2 = Sum8(s2), r3 = Sum8(s3);
      for (int64_t k = k8; k < K; ++k) {
        r0 += arow[k] * b0[k];
        r1 += arow[k] * b1[k];
        r2 += arow[k] * b2[k];
        r3 += arow[k] * b3[k];
      }
      crow[n] = r0;
      crow[n + 1] = r1;
      crow[n + 2] = r2;
      crow[n + 3] = r3;
    }
    for (; n < N; ++n) {
      const float* brow = bt + n * ldb;
      V8 s{};
      for (int64_t k = 0; k < k8; k += 8) s += Load8(arow + k) * Load8(brow + k);
      float r = Sum8(s);
      for (int64_t k = k8; k < K; ++k) r += arow[k] * brow[k];
      crow[n] = r;
    }
  }
}

using GemmFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, int64_t);

void GemmNNBaseline(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t M, int64_t K,
                    int64_t N) {
  GemmNNBody(a, lda, b, ldb, c, M, K, N);
}
void GemmNTBaseline(const float* a, int64_t lda, const float* bt, int64_t ldb, float* c, int64_t M, int64_t K,
                    int64_t N) {
  GemmNTBody(a, lda, bt, ldb, c, M, K, N);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VLARFT_HAVE_AVX2_PATH 1
// The same bodies compiled for AVX2 + FMA; chosen at run time only where the CPU has both.
__attribute__((target("avx2,fma"))) void GemmNNAvx2(const float* a, int64_t lda, const float* b, int64_t ldb,
                                                    float* c, int64_t M, int64_t K, int64_t N) {
  GemmNNBody(a, lda, b, ldb, c, M, K, N);
}
__attribute__((target("avx2,fma"))) void GemmNTAvx2(const float* a, int64_t lda, const float* bt, int64_t ldb,
                                                    float* c, int64_t M, int64_t K, int64_t N) {
  GemmNTBody(a, lda, bt, ldb, c, M, K, N);
}
#endif

bool CpuHasAvx2Fma() {
#ifdef VLARFT_HAVE_AVX2_PATH
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

struct Kernels {
  GemmFn nn;
  GemmFn nt;
};

bool UseAvx2() {
  static const bool cpu_has_avx2 = CpuHasAvx2Fma();
  return cpu_has_avx2 && !baseline_only.load();
}

Kernels SelectedKernels() {
#ifdef VLARFT_HAVE_AVX2_PATH
  if (UseAvx2()) return Kernels{GemmNNAvx2, GemmNTAvx2};
#endif
  return Kernels{GemmNNBaseline, GemmNTBaseline};
}

bool SameBatchDims(const torch::Tensor& a, const torch::Tensor& b) {
  return a.dim() >= 2 && a.dim() == b.dim() && a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2);
}

// Where each matrix of a batch starts, in elements from data_ptr(): the leading dims may have any
// strides (the attention's heads are a transposed view of [batch, L, heads, d]), so no copy is made.
std::vector<int64_t> MatrixOffsets(const torch::Tensor& t) {
  const int64_t lead = t.dim() - 2;
  int64_t count = 1;
  for (int64_t d = 0; d < lead; ++d) count *= t.size(d);
  std::vector<int64_t> offsets(count, 0);
  std::vector<int64_t> index(lead, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t offset = 0;
    for (int64_t d = 0; d < lead; ++d) offset += index[d] * t.stride(d);
    offsets[i] = offset;
    for (int64_t d = lead - 1; d >= 0; --d) {  // odometer over the leading dims
      if (++index[d] < t.size(d)) break;
      index[d] = 0;
    }
  }
  return offsets;
}

// Row stride of a matrix whose columns are adjacent in memory, or -1 when they are not. Size-1
// dims may carry any stride.
int64_t RowStrideIfRowsContiguous(const torch::Tensor& t) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  if (cols != 1 && t.stride(-1) != 1) return -1;
  return rows == 1 ? cols : t.stride(-2);
}

// The kernel itself, no autograd. b is read as stored when its rows (NN) or its columns (NT: the
// attention's k^T) are contiguous; only other layouts are copied.
torch::Tensor RunKernel(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  const int64_t M = a_in.size(-2), K = a_in.size(-1), N = b_in.size(-1);
  torch::Tensor a = a_in, b = b_in;
  int64_t lda = RowStrideIfRowsContiguous(a);
  if (lda < 0) {
    a = a.contiguous();
    lda = K;
  }
  bool transposed_b = false;
  int64_t ldb = RowStrideIfRowsContiguous(b);
  if (ldb < 0) {
    ldb = RowStrideIfRowsContiguous(b.transpose(-2, -1));
    transposed_b = ldb >= 0;
    if (!transposed_b) {
      b = b.contiguous();
      ldb = N;
    }
  }
  const std::vector<int64_t> a_offsets = MatrixOffsets(a), b_offsets = MatrixOffsets(b);
  const int64_t batch = static_cast<int64_t>(a_offsets.size());
  std::vector<int64_t> shape = a.sizes().vec();
  shape.back() = N;
  torch::Tensor c = torch::empty(shape, a.options().memory_format(c10::MemoryFormat::Contiguous));

  const Kernels kernels = SelectedKernels();
  const GemmFn gemm = transposed_b ? kernels.nt : kernels.nn;
  const float* a_data = a.data_ptr<float>();
  const float* b_data = b.data_ptr<float>();
  float* c_data = c.data_ptr<float>();
  // Enough work per task that the thread pool's cost stays small next to the products.
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, M * K * N));
  at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      gemm(a_data + a_offsets[i], lda, b_data + b_offsets[i], ldb, c_data + i * M * N, M, K, N);
    }
  });
  return c;
}

class BatchedMatmulFunction : public torch::autograd::Function<BatchedMatmulFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return RunKernel(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& a = saved[0];
    const torch::Tensor& b = saved[1];
    const torch::Tensor& grad = grads[0];
    // d(ab)/da = grad b^T, d(ab)/db = a^T grad; both through the same kernel (or its fallback).
    torch::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = BatchedMatmul(grad, b.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) grad_b = BatchedMatmul(a.transpose(-2, -1), grad);
    return {grad_a, grad_b};
  }
};

}  // namespace

void SetBatchedMatmulKernelEnabled(bool enabled) { kernel_enabled.store(enabled); }
bool BatchedMatmulKernelEnabled() { return kernel_enabled.load(); }
void SetBatchedMatmulBaselineOnly(bool value) { baseline_only.store(value); }
const char* BatchedMatmulIsa() { return UseAvx2() ? "avx2" : "baseline"; }

bool BatchedMatmulUsesKernel(const torch::Tensor& a, const torch::Tensor& b) {
  return kernel_enabled.load() && !AutocastEnabled(c10::DeviceType::CPU) && a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kFloat32 &&
         b.scalar_type() == torch::kFloat32 && SameBatchDims(a, b) && a.size(-1) == b.size(-2) &&
         a.numel() > 0 && b.numel() > 0 && !a.is_sparse() && !b.is_sparse();
}

torch::Tensor BatchedMatmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (!BatchedMatmulUsesKernel(a, b)) return torch::matmul(a, b);
  const bool track_grad = torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  if (!track_grad) return RunKernel(a, b);
  return BatchedMatmulFunction::apply(a, b);
}

}  // namespace vlarft::core
