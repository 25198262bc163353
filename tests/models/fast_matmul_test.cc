// libs/models/fast_matmul.h: FastLinear gives LibTorch's values and gradients (float64 reference)
// on both of its paths, on one or two threads, and takes the path it promises: oneDNN for many rows,
// the plain linear for few (where LibTorch 1.13 would run the convolution as im2col + reference
// BLAS on one thread).
#include "libs/models/fast_matmul.h"

#include <set>
#include <string>

#include "ATen/record_function.h"
#include "gtest/gtest.h"

namespace vlarft::models {
namespace {

class Threads {
 public:
  explicit Threads(int threads) : threads_(at::get_num_threads()) { at::set_num_threads(threads); }
  ~Threads() { at::set_num_threads(threads_); }

 private:
  int threads_;
};

// The names of the ATen ops `fn` runs (forward and backward) on this thread.
template <typename Fn>
std::set<std::string> OpsRun(Fn fn) {
  static thread_local std::set<std::string>* sink = nullptr;
  std::set<std::string> names;
  sink = &names;
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback([](const at::RecordFunction& f) -> std::unique_ptr<at::ObserverContext> {
        if (sink != nullptr) sink->insert(f.name());
        return nullptr;
      }));
  fn();
  at::removeCallback(handle);
  sink = nullptr;
  return names;
}

bool AnyContains(const std::set<std::string>& names, const std::string& part) {
  for (const std::string& n : names) {
    if (n.find(part) != std::string::npos) return true;
  }
  return false;
}

void ExpectLinearMatches(int64_t rows, int64_t in, int64_t out) {
  torch::manual_seed(rows * 7 + in);
  const torch::Tensor x = torch::randn({rows, in}).requires_grad_(true);
  const torch::Tensor w = torch::randn({out, in}).mul_(0.1).requires_grad_(true);
  const torch::Tensor b = torch::randn({out}).requires_grad_(true);
  const torch::Tensor y = FastLinear(x, w, b);
  const torch::Tensor expected = torch::addmm(b.to(torch::kFloat64), x.to(torch::kFloat64), w.to(torch::kFloat64).t());
  ASSERT_EQ(y.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), expected, 1e-4, 1e-4)) << rows << " x " << in << " -> " << out;
  const torch::Tensor grad = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, {x, w, b}, {grad});
  const torch::Tensor g64 = grad.to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(grads[0].to(torch::kFloat64), g64.mm(w.to(torch::kFloat64)), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(grads[1].to(torch::kFloat64), g64.t().mm(x.to(torch::kFloat64)), 1e-4, 1e-3));
  EXPECT_TRUE(torch::allclose(grads[2].to(torch::kFloat64), g64.sum(0), 1e-4, 1e-3));
}

TEST(FastMatmulTest, LinearValuesAndGradientsMatchLibTorchOnBothPathsAndThreadCounts) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    Threads setting(threads);
    ExpectLinearMatches(5, 192, 768);    // a decode step of a group of 4 (+ reference): few rows
    ExpectLinearMatches(300, 128, 384);  // many rows: the convolution
    ExpectLinearMatches(3, 16, 8);       // tiny
  }
}

TEST(FastMatmulTest, ManyRowsRunOneDnnAndFewRowsThePlainLinearEvenOnOneThread) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no oneDNN: FastLinear is always the plain linear";
  Threads setting(1);
  const torch::Tensor w = torch::randn({768, 192}).requires_grad_(true);
  const torch::Tensor many = torch::randn({300, 192}).requires_grad_(true);
  const torch::Tensor few = torch::randn({5, 192}).requires_grad_(true);
  const std::set<std::string> many_ops = OpsRun([&] { FastLinear(many, w).sum().backward(); });
  EXPECT_TRUE(AnyContains(many_ops, "mkldnn_convolution"));
  EXPECT_FALSE(AnyContains(many_ops, "slow_conv2d"));
  const std::set<std::string> few_ops = OpsRun([&] { FastLinear(few, w).sum().backward(); });
  EXPECT_FALSE(AnyContains(few_ops, "conv")) << "few rows: no convolution of any kind";
  EXPECT_TRUE(AnyContains(few_ops, "linear") || AnyContains(few_ops, "addmm") || AnyContains(few_ops, "matmul"));
}

}  // namespace
}  // namespace vlarft::models
