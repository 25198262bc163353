#include "libs/core/mixed_precision.h"

#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

const char* kAvx2Only = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n";
const char* kAvx512Bf16 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n";
const char* kAmx = "flags\t\t: avx2 avx512f amx_tile amx_bf16 amx_int8\n";

TEST(MixedPrecisionTest, NativeBf16NeedsTheCpuFlagAndNoLowerOneDnnCap) {
  EXPECT_FALSE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAvx2Only, "")));
  EXPECT_TRUE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAvx512Bf16, "")));
  EXPECT_TRUE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAmx, "")));
  // Capping oneDNN (how docs/results.md times an AVX2-only CPU on an AVX512 one) means emulation.
  EXPECT_FALSE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAvx512Bf16, "AVX2")));
  EXPECT_FALSE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAvx512Bf16, "avx512_core")));
  EXPECT_TRUE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAvx512Bf16, "AVX512_CORE_BF16")));
  EXPECT_TRUE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAmx, "avx512_core_amx")));
  EXPECT_TRUE(CpuRunsBf16Natively(ParseCpuBf16Facts(kAvx512Bf16, "ALL")));
  EXPECT_FALSE(CpuRunsBf16Natively(ParseCpuBf16Facts("", "")));
  // A flag name that merely contains the text does not count.
  EXPECT_FALSE(ParseCpuBf16Facts("flags\t: avx512_bf16x\n", "").avx512_bf16);
}

TEST(MixedPrecisionTest, ExplicitChoicesWinAndCudaAlwaysRunsBf16) {
  EXPECT_FALSE(*UseBf16("none", c10::DeviceType::CUDA));
  EXPECT_TRUE(*UseBf16("bf16", c10::DeviceType::CPU));
  EXPECT_TRUE(*UseBf16("auto", c10::DeviceType::CUDA));
  EXPECT_EQ(*UseBf16("auto", c10::DeviceType::CPU), CpuRunsBf16Natively(DetectCpuBf16Facts()));
  const absl::StatusOr<bool> bad = UseBf16("fp16", c10::DeviceType::CPU, "rft.eval_mixed_precision");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("rft.eval_mixed_precision"), std::string::npos);
}

}  // namespace
}  // namespace vlarft::core
