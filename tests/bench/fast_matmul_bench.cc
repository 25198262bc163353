// Which path is fastest for each CPU float32 product of the world model and the policy on Debian's
// LibTorch (docs/results.md, "Which path for which product"): the same product, forward + backward,
// through
//   models      what the models run now (linears: models::FastLinear; batched: core::BatchedMatmul)
//   torch       torch::linear / torch::matmul (the reference BLAS on Debian's LibTorch)
//   conv        the 1x1 (grouped) convolution with LibTorch choosing its path (on one thread with
//               < 16 images: im2col + reference BLAS, per group)
//   conv_onednn the same convolution marked strided so LibTorch sends it to oneDNN
// Calls alternate between the paths inside one run; the median of --repetitions is reported.
//
//   fast_matmul_bench --torch_threads 1 --repetitions 5
#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "libs/core/batched_matmul.h"
#include "libs/models/fast_matmul.h"
#include "tests/bench/bench_main.h"

namespace vlarft::bench {
namespace {

struct BenchOptions {
  int64_t repetitions = 5;
  int64_t torch_threads = 1;
  bool backward = true;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("repetitions", repetitions, "timed calls per path and shape (median reported)");
    v.Field("torch_threads", torch_threads, "intra-op threads");
    v.Field("backward", backward, "time forward + backward (else forward only)");
  }
};

using Product = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

torch::Tensor Conv(const torch::Tensor& input, const torch::Tensor& weight, int64_t groups, bool onednn) {
  const std::vector<int64_t> stride = onednn ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{1, 1};
  return torch::conv2d(input, weight, torch::Tensor(), stride, torch::IntArrayRef{0, 0}, torch::IntArrayRef{1, 1},
                       groups);
}

// x [rows, in] · w [out, in]ᵀ as a 1x1 convolution over `rows` images.
torch::Tensor LinearConv(const torch::Tensor& x, const torch::Tensor& w, bool onednn) {
  return Conv(x.reshape({x.size(0), x.size(1), 1, 1}), w.view({w.size(0), w.size(1), 1, 1}), 1, onednn)
      .view({x.size(0), w.size(0)});
}

// a [G, M, K] · b [G, K, N] as a grouped 1x1 convolution (the world model's attention until 2026-12-07).
torch::Tensor BatchedConv(const torch::Tensor& a, const torch::Tensor& b, bool onednn) {
  const int64_t g = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  const torch::Tensor input = a.transpose(1, 2).reshape({1, g * k, m, 1});
  const torch::Tensor weight = b.transpose(1, 2).reshape({g * n, k, 1, 1});
  return Conv(input, weight, g, onednn).view({g, n, m}).transpose(1, 2);
}

double Milliseconds(const Product& product, const torch::Tensor& a, const torch::Tensor& b, bool backward) {
  const auto start = std::chrono::steady_clock::now();
  if (backward) {
    const torch::Tensor ga = a.detach().requires_grad_(true), gb = b.detach().requires_grad_(true);
    product(ga, gb).sum().backward();
  } else {
    torch::NoGradGuard no_grad;
    product(a, b);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

struct Shape {
  std::string name;
  bool batched;  // a [G, M, K] · b [G, K, N], else x [rows, in] · w [out, in]ᵀ
  std::vector<int64_t> a, b;
};

absl::Status Run(const BenchOptions& options) {
  at::set_num_threads(static_cast<int>(options.torch_threads));
  const std::vector<Shape> shapes = {
      {"WM training: attention scores (16 seq x 4 heads, 457 x 48 x 457)", true, {64, 457, 48}, {64, 48, 457}},
      {"WM training: scores x values (457 x 457 x 48)", true, {64, 457, 457}, {64, 457, 48}},
      {"WM training: qkv projection (7312 rows, 192 -> 576)", false, {7312, 192}, {576, 192}},
      {"WM training: MLP in (7312 rows, 192 -> 768)", false, {7312, 192}, {768, 192}},
      {"WM training: future-code logits (2048 rows, 192 -> 4375)", false, {2048, 192}, {4375, 192}},
      {"WM decode G=4: MLP (5 rows, 192 -> 768)", false, {5, 192}, {768, 192}},
      {"WM decode G=4: attention (20 x 1 x 48 x 460)", true, {20, 1, 48}, {20, 48, 460}},
      {"tokenizer: spatial attention (16 frames, 256 x 64 x 16)", true, {16, 256, 64}, {16, 64, 16}},
  };
  std::cout << absl::StrFormat("threads %d, %s, median of %d (ms)\n\n", options.torch_threads,
                               options.backward ? "forward + backward" : "forward", options.repetitions);
  std::cout << "| product | models | torch | conv | conv_onednn |\n|---|---:|---:|---:|---:|\n";
  for (const Shape& s : shapes) {
    torch::manual_seed(0);
    const torch::Tensor a = torch::randn(s.a), b = torch::randn(s.b);
    std::vector<std::pair<std::string, Product>> paths;
    if (s.batched) {
      paths = {{"models", [](auto& x, auto& y) { return core::BatchedMatmul(x, y); }},
               {"torch", [](auto& x, auto& y) { return torch::matmul(x, y); }},
               {"conv", [](auto& x, auto& y) { return BatchedConv(x, y, false); }},
               {"conv_onednn", [](auto& x, auto& y) { return BatchedConv(x, y, true); }}};
    } else {
      paths = {{"models", [](auto& x, auto& y) { return models::FastLinear(x, y); }},
               {"torch", [](auto& x, auto& y) { return torch::nn::functional::linear(x, y); }},
               {"conv", [](auto& x, auto& y) { return LinearConv(x, y, false); }},
               {"conv_onednn", [](auto& x, auto& y) { return LinearConv(x, y, true); }}};
    }
    std::map<std::string, std::vector<double>> times;
    for (auto& [name, product] : paths) Milliseconds(product, a, b, options.backward);  // warm-up
    for (int64_t r = 0; r < options.repetitions; ++r) {
      for (auto& [name, product] : paths) times[name].push_back(Milliseconds(product, a, b, options.backward));
    }
    std::string row = "| " + s.name + " |";
    for (const char* name : {"models", "torch", "conv", "conv_onednn"}) {
      std::vector<double>& t = times[name];
      std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
      row += absl::StrFormat(" %.2f |", t[t.size() / 2]);
    }
    std::cout << row << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace vlarft::bench

int main(int argc, char** argv) {
  return vlarft::bench::BenchMain<vlarft::bench::BenchOptions>(argc, argv, "fast_matmul_bench", vlarft::bench::Run);
}
