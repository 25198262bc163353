#include "libs/reward/image_metrics.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"

namespace vlarft::reward {
namespace {

std::string ShapeOf(const torch::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]"); }

absl::Status CheckImagePair(const torch::Tensor& a, const torch::Tensor& b, int64_t min_size) {
  for (const auto& [name, t] : {std::pair<const char*, const torch::Tensor&>{"a", a}, {"b", b}}) {
    if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(name, ": tensor is undefined"));
    if (!t.is_floating_point()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": expected a floating-point tensor, got ", c10::toString(t.scalar_type())));
    }
    if (t.dim() != 4 || t.size(0) < 1 || t.size(1) < 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": expected [N >= 1, C >= 1, H, W], got ", ShapeOf(t)));
    }
    if (t.size(2) < min_size || t.size(3) < min_size) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": images are ", t.size(2), "x", t.size(3),
                                                     ", need at least ", min_size, "x", min_size));
    }
  }
  if (a.sizes() != b.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat("b: shape ", ShapeOf(b), " differs from a's ", ShapeOf(a)));
  }
  for (const auto& [name, t] : {std::pair<const char*, const torch::Tensor&>{"a", a}, {"b", b}}) {
    absl::StatusOr<bool> finite =
        core::CatchTorchErrors(name, [&]() { return torch::isfinite(t).all().item<bool>(); });
    if (!finite.ok()) return finite.status();
    if (!*finite) return absl::InvalidArgumentError(absl::StrCat(name, ": contains NaN or Inf"));
  }
  return absl::OkStatus();
}

absl::Status CheckSsimOptions(const SsimOptions& options) {
  if (options.window_size < 1) return absl::InvalidArgumentError("options.window_size must be >= 1");
  if (!(options.sigma > 0)) return absl::InvalidArgumentError("options.sigma must be > 0");
  if (!(options.data_range > 0)) return absl::InvalidArgumentError("options.data_range must be > 0");
  if (!(options.k1 > 0) || !(options.k2 > 0)) return absl::InvalidArgumentError("options.k1 and k2 must be > 0");
  return absl::OkStatus();
}

// Normalised 1-D Gaussian; the 2-D window is its outer product, so filtering is two 1-D passes.
torch::Tensor GaussianKernel1d(const SsimOptions& options, const torch::TensorOptions& tensor_options) {
  const double center = (options.window_size - 1) / 2.0;
  torch::Tensor x = torch::arange(options.window_size, tensor_options.dtype(torch::kFloat64)) - center;
  torch::Tensor g = torch::exp(-x.pow(2) / (2.0 * options.sigma * options.sigma));
  return (g / g.sum()).to(tensor_options.dtype());
}

class SsimDistance : public PerceptualDistance {
 public:
  explicit SsimDistance(SsimOptions options) : options_(options) {}
  std::string name() const override { return "ssim"; }
  int64_t min_image_size() const override { return options_.window_size; }

 protected:
  torch::Tensor Compute(const torch::Tensor& images, const torch::Tensor& references,
                        const torch::Tensor& reference_index) override {
    return 1.0 - SsimUnchecked(images, references.index_select(0, reference_index), options_);
  }

 private:
  SsimOptions options_;
};

}  // namespace

torch::Tensor SsimUnchecked(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options) {
  const int64_t n = a.size(0), c = a.size(1), h = a.size(2), w = a.size(3);
  const int64_t k = options.window_size;
  const torch::Tensor g = GaussianKernel1d(options, a.options());
  // Local means of the five maps in one batched pair of 1-D convolutions (valid region only).
  // Working with e = a − b instead of b² and ab keeps the formula exact for identical images
  // (e = 0 makes the map exactly 1) and avoids cancellation in σa² + σb² − 2σab:
  //   μa² + μb² + C1 = (2 μa μb + C1) + μe²          μe = local mean of e = μa − μb
  //   σa² + σb² + C2 = (2 σab + C2) + (E[e²] − μe²)   = (2 σab + C2) + Var(e)
  const torch::Tensor e = a - b;
  const torch::Tensor stacked = torch::cat({a, b, a * b, e, e * e}).reshape({5 * n * c, 1, h, w});
  torch::Tensor filtered = torch::conv2d(stacked, g.view({1, 1, k, 1}));
  filtered = torch::conv2d(filtered, g.view({1, 1, 1, k}));
  filtered = filtered.reshape({5, n, c, h - k + 1, w - k + 1});
  const torch::Tensor mu_a = filtered[0], mu_b = filtered[1], mean_ab = filtered[2];
  const torch::Tensor mu_e = filtered[3], mean_ee = filtered[4];

  const double c1 = std::pow(options.k1 * options.data_range, 2);
  const double c2 = std::pow(options.k2 * options.data_range, 2);
  const torch::Tensor luminance_num = 2.0 * mu_a * mu_b + c1;
  const torch::Tensor structure_num = 2.0 * (mean_ab - mu_a * mu_b) + c2;
  const torch::Tensor luminance_den = luminance_num + mu_e * mu_e;
  const torch::Tensor structure_den = structure_num + (mean_ee - mu_e * mu_e);
  const torch::Tensor map = (luminance_num * structure_num) / (luminance_den * structure_den);
  return map.mean({1, 2, 3});
}

absl::StatusOr<torch::Tensor> Ssim(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options) {
  VLARFT_RETURN_IF_ERROR(CheckSsimOptions(options));
  VLARFT_RETURN_IF_ERROR(CheckImagePair(a, b, options.window_size));
  return core::CatchTorchErrors("ssim", [&]() {
    torch::NoGradGuard no_grad;
    return SsimUnchecked(a, b.to(a.dtype()), options).to(torch::kFloat32);
  });
}

absl::StatusOr<torch::Tensor> Mse(const torch::Tensor& a, const torch::Tensor& b) {
  VLARFT_RETURN_IF_ERROR(CheckImagePair(a, b, 1));
  return core::CatchTorchErrors("mse", [&]() {
    torch::NoGradGuard no_grad;
    return (a - b.to(a.dtype())).pow(2).mean({1, 2, 3}).to(torch::kFloat32);
  });
}

absl::StatusOr<torch::Tensor> Psnr(const torch::Tensor& a, const torch::Tensor& b, double data_range) {
  if (!(data_range > 0)) return absl::InvalidArgumentError("data_range must be > 0");
  VLARFT_ASSIGN_OR_RETURN(torch::Tensor mse, Mse(a, b));
  return core::CatchTorchErrors("psnr", [&]() {
    // float64 so MSE near 0 does not lose digits; log10(x / 0) = +inf for identical images.
    return (10.0 * torch::log10(data_range * data_range / mse.to(torch::kFloat64))).to(torch::kFloat32);
  });
}

std::unique_ptr<PerceptualDistance> MakeSsimDistance(const SsimOptions& options) {
  return std::make_unique<SsimDistance>(options);
}

}  // namespace vlarft::reward
