#include "libs/reward/lpips.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/reward/perceptual_factory.h"
#include "tests/reward/reward_test_util.h"

namespace vlarft::reward {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::RandomLpipsTensors;
using testing::ScratchDir;
using testing::WriteLpipsFile;

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

// LPIPS written independently of the library, in float64, the way the LPIPS paper draws it:
// blocks of (pool,) conv+ReLU ending at a tap; per tap unit-normalise, squared difference, the
// learned 1x1 conv ("lin"), spatial mean; sum over taps.
torch::Tensor ReferenceLpips(const Named& named, LpipsBackbone backbone, const torch::Tensor& a, const torch::Tensor& b) {
  std::map<std::string, torch::Tensor> w;
  for (const auto& [name, t] : named) w[name] = t.to(torch::kFloat64);
  struct ConvStep { int index, stride, padding; };
  struct Block { bool pool_first; std::vector<ConvStep> convs; };
  std::vector<Block> blocks;
  int pool_kernel = 2, pool_stride = 2;
  if (backbone == LpipsBackbone::kVgg16) {
    blocks = {{false, {{0, 1, 1}, {2, 1, 1}}},
              {true, {{5, 1, 1}, {7, 1, 1}}},
              {true, {{10, 1, 1}, {12, 1, 1}, {14, 1, 1}}},
              {true, {{17, 1, 1}, {19, 1, 1}, {21, 1, 1}}},
              {true, {{24, 1, 1}, {26, 1, 1}, {28, 1, 1}}}};
  } else {
    pool_kernel = 3;
    blocks = {{false, {{0, 4, 2}}}, {true, {{3, 1, 2}}}, {true, {{6, 1, 1}}}, {false, {{8, 1, 1}}},
              {false, {{10, 1, 1}}}};
  }
  auto taps = [&](const torch::Tensor& img) {
    torch::Tensor x = img.to(torch::kFloat64) * 2 - 1;  // [0, 1] -> [−1, 1]
    const double shift[3] = {-0.030, -0.088, -0.188}, scale[3] = {0.458, 0.448, 0.450};
    std::vector<torch::Tensor> channels;
    for (int c = 0; c < 3; ++c) channels.push_back((x.select(1, c) - shift[c]) / scale[c]);
    x = torch::stack(channels, 1);
    std::vector<torch::Tensor> out;
    for (const Block& block : blocks) {
      if (block.pool_first) x = torch::max_pool2d(x, {pool_kernel, pool_kernel}, {pool_stride, pool_stride});
      for (const ConvStep& c : block.convs) {
        const std::string prefix = "net.features." + std::to_string(c.index);
        x = torch::relu(torch::conv2d(x, w[prefix + ".weight"], w[prefix + ".bias"], c.stride, c.padding));
      }
      out.push_back(x);
    }
    return out;
  };
  const std::vector<torch::Tensor> ta = taps(a), tb = taps(b);
  torch::Tensor total = torch::zeros({a.size(0), 1, 1, 1}, torch::kFloat64);
  for (size_t i = 0; i < ta.size(); ++i) {
    const torch::Tensor na = ta[i] / (ta[i].pow(2).sum(1, true).sqrt() + 1e-10);
    const torch::Tensor nb = tb[i] / (tb[i].pow(2).sum(1, true).sqrt() + 1e-10);
    const torch::Tensor lin = torch::conv2d((na - nb).pow(2), w["lin" + std::to_string(i) + ".weight"]);
    total = total + lin.mean({2, 3}, true);
  }
  return total.view({-1});
}

void ExpectMatchesReference(LpipsBackbone backbone) {
  ScratchDir dir;
  const Named tensors = RandomLpipsTensors(backbone, /*seed=*/21);
  WriteLpipsFile(dir.Path("lpips.safetensors"), tensors, backbone);
  absl::StatusOr<std::unique_ptr<PerceptualDistance>> lpips =
      LoadLpipsDistance(dir.Path("lpips.safetensors"), backbone);
  ASSERT_TRUE(lpips.ok()) << lpips.status();
  EXPECT_EQ((*lpips)->name(), backbone == LpipsBackbone::kVgg16 ? "lpips-vgg" : "lpips-alex");

  torch::manual_seed(22);
  const torch::Tensor a = torch::rand({3, 3, 32, 36});
  torch::Tensor b = (a + 0.1 * torch::randn({3, 3, 32, 36})).clamp(0, 1);
  b[2] = torch::rand({3, 32, 36});
  absl::StatusOr<torch::Tensor> d = (*lpips)->Distance(a, b);
  ASSERT_TRUE(d.ok()) << d.status();
  const torch::Tensor expected = ReferenceLpips(tensors, backbone, a, b);
  EXPECT_TRUE(torch::allclose(d->to(torch::kFloat64), expected, 1e-4, 1e-6)) << *d << expected;
  EXPECT_GT((*d)[2].item<double>(), (*d)[0].item<double>());  // unrelated image is farther

  // Identical images: exactly 0.
  absl::StatusOr<torch::Tensor> same = (*lpips)->Distance(a, a.clone());
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(torch::equal(*same, torch::zeros({3})));

  // Too small for the backbone's deepest tap: a clear error, not a LibTorch stack trace.
  const int64_t small = LpipsMinImageSize(backbone) - 1;
  absl::Status too_small =
      (*lpips)->Distance(torch::rand({1, 3, small, small}), torch::rand({1, 3, small, small})).status();
  EXPECT_THAT(std::string(too_small.message()), HasSubstr("needs at least"));
  const int64_t edge = LpipsMinImageSize(backbone);
  EXPECT_TRUE((*lpips)->Distance(torch::rand({1, 3, edge, edge}), torch::rand({1, 3, edge, edge})).ok());
}

TEST(RewardLpipsTest, Vgg16MatchesIndependentReferenceWithTorchvisionShapes) {
  ExpectMatchesReference(LpipsBackbone::kVgg16);
}

TEST(RewardLpipsTest, AlexNetMatchesIndependentReferenceWithTorchvisionShapes) {
  ExpectMatchesReference(LpipsBackbone::kAlexNet);
}

TEST(RewardLpipsLoadingTest, ParameterNamesAreTheDocumentedOnes) {
  LpipsNetwork vgg(LpipsBackbone::kVgg16);
  std::vector<std::string> names;
  for (const auto& item : vgg->named_parameters()) names.push_back(item.key());
  EXPECT_EQ(names.size(), 13u * 2 + 5);
  EXPECT_THAT(names, ::testing::Contains("net.features.28.bias"));
  EXPECT_THAT(names, ::testing::Contains("lin4.weight"));
  EXPECT_EQ(vgg->named_parameters()["net.features.0.weight"].sizes(), (std::vector<int64_t>{64, 3, 3, 3}));
  LpipsNetwork alex(LpipsBackbone::kAlexNet);
  EXPECT_EQ(alex->named_parameters()["net.features.3.weight"].sizes(), (std::vector<int64_t>{192, 64, 5, 5}));
  EXPECT_EQ(alex->named_parameters()["lin2.weight"].sizes(), (std::vector<int64_t>{1, 384, 1, 1}));
}

TEST(RewardLpipsLoadingTest, BadWeightFilesAreStartupErrorsNeverARandomNetwork) {
  ScratchDir dir;
  const LpipsBackbone alex = LpipsBackbone::kAlexNet;
  const Named good = RandomLpipsTensors(alex, 5);

  // No file.
  absl::Status status = LoadLpipsNetwork(dir.Path("absent.safetensors"), alex).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("absent.safetensors"));
  EXPECT_FALSE(LoadLpipsNetwork("", alex).ok());

  // A missing tensor.
  Named missing;
  for (const auto& item : good) {
    if (item.first != "lin3.weight") missing.push_back(item);
  }
  WriteLpipsFile(dir.Path("missing.safetensors"), missing, alex);
  status = LoadLpipsNetwork(dir.Path("missing.safetensors"), alex).status();
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("missing"), HasSubstr("lin3.weight")));

  // A shape mismatch.
  Named mismatched = good;
  for (auto& item : mismatched) {
    if (item.first == "lin2.weight") item.second = torch::rand({1, 383, 1, 1});
  }
  WriteLpipsFile(dir.Path("mismatched.safetensors"), mismatched, alex);
  status = LoadLpipsNetwork(dir.Path("mismatched.safetensors"), alex).status();
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("mismatched"), HasSubstr("lin2.weight")));

  // An extra tensor.
  Named extra = good;
  extra.emplace_back("lin5.weight", torch::rand({1, 8, 1, 1}));
  WriteLpipsFile(dir.Path("extra.safetensors"), extra, alex);
  status = LoadLpipsNetwork(dir.Path("extra.safetensors"), alex).status();
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("unexpected"), HasSubstr("lin5.weight")));

  // The other backbone's file: metadata says so; without metadata the shapes do.
  WriteLpipsFile(dir.Path("alex.safetensors"), good, alex);
  status = LoadLpipsNetwork(dir.Path("alex.safetensors"), LpipsBackbone::kVgg16).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("backbone 'alexnet'"));
  WriteLpipsFile(dir.Path("alex_bare.safetensors"), good, alex, /*with_metadata=*/false);
  status = LoadLpipsNetwork(dir.Path("alex_bare.safetensors"), LpipsBackbone::kVgg16).status();
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("does not match"), HasSubstr("net.features.0.weight")));

  // Negative linear weights are not LPIPS.
  Named negative = good;
  for (auto& item : negative) {
    if (item.first == "lin1.weight") item.second = item.second - 1.0;
  }
  WriteLpipsFile(dir.Path("negative.safetensors"), negative, alex);
  status = LoadLpipsNetwork(dir.Path("negative.safetensors"), alex).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("lin1.weight has negative entries"));

  // float16 weights: the file must hold float32 (what the converter writes).
  Named half = good;
  half[0].second = half[0].second.to(torch::kFloat16);
  WriteLpipsFile(dir.Path("half.safetensors"), half, alex);
  EXPECT_FALSE(LoadLpipsNetwork(dir.Path("half.safetensors"), alex).ok());

  EXPECT_TRUE(LoadLpipsNetwork(dir.Path("alex.safetensors"), alex).ok());
}

TEST(RewardLpipsLoadingTest, FactoryExplainsWhatToDoWithoutWeights) {
  RewardConfig config;
  config.perceptual = "lpips-vgg";
  absl::Status status = MakePerceptualDistance(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("lpips_weights"), HasSubstr("convert_lpips_weights.py"), HasSubstr("tokenizer")));

  config.lpips_weights = "/nonexistent/lpips_vgg.safetensors";
  status = MakePerceptualDistance(config).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("/nonexistent/lpips_vgg.safetensors"),
                                                   HasSubstr("choose perceptual: tokenizer")));

  config.perceptual = "tokenizer";
  status = MakePerceptualDistance(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tokenizer"));

  config.perceptual = "none";
  absl::StatusOr<std::unique_ptr<PerceptualDistance>> none = MakePerceptualDistance(config);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  config.perceptual = "ssim";
  EXPECT_EQ((*MakePerceptualDistance(config))->name(), "ssim");
}

}  // namespace
}  // namespace vlarft::reward
