#include "libs/core/mixed_precision.h"

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"

namespace vlarft::core {

CpuBf16Facts ParseCpuBf16Facts(const std::string& cpuinfo, const std::string& onednn_max_isa) {
  CpuBf16Facts facts;
  facts.onednn_max_isa = onednn_max_isa;
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    const std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.size() != 2 || absl::StripAsciiWhitespace(kv[0]) != "flags") continue;
    for (absl::string_view flag : absl::StrSplit(kv[1], ' ', absl::SkipEmpty())) {
      if (flag == "avx512_bf16") facts.avx512_bf16 = true;
      if (flag == "amx_bf16") facts.amx_bf16 = true;
    }
    break;  // every core reports the same flags
  }
  return facts;
}

CpuBf16Facts DetectCpuBf16Facts() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (cap == nullptr) cap = std::getenv("DNNL_MAX_CPU_ISA");
  return ParseCpuBf16Facts(text.str(), cap != nullptr ? cap : "");
}

bool CpuRunsBf16Natively(const CpuBf16Facts& facts) {
  if (!facts.avx512_bf16 && !facts.amx_bf16) return false;
  if (facts.onednn_max_isa.empty()) return true;
  // oneDNN's ISA names that include native bf16 (and ALL = no cap).
  const std::string cap = absl::AsciiStrToUpper(facts.onednn_max_isa);
  return cap == "ALL" || cap.find("BF16") != std::string::npos || cap.find("AMX") != std::string::npos ||
         cap.find("AVX10") != std::string::npos;
}

absl::Status ValidateMixedPrecision(const std::string& value, const std::string& field) {
  if (value == "none" || value == "bf16" || value == "auto") return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be none, bf16 or auto, got '", value, "'"));
}

absl::StatusOr<bool> UseBf16(const std::string& value, c10::DeviceType device, const std::string& field) {
  if (absl::Status valid = ValidateMixedPrecision(value, field); !valid.ok()) return valid;
  if (value != "auto") return value == "bf16";
  if (device == c10::DeviceType::CUDA) return true;
  static std::once_flag logged;
  static bool native = false;
  std::call_once(logged, [] {
    const CpuBf16Facts facts = DetectCpuBf16Facts();
    native = CpuRunsBf16Natively(facts);
    LOG(INFO) << "event=mixed_precision_auto decision=" << PrecisionName(native) << " avx512_bf16=" << facts.avx512_bf16
              << " amx_bf16=" << facts.amx_bf16 << " onednn_max_isa=" << (facts.onednn_max_isa.empty() ? "-" : facts.onednn_max_isa)
              << (native ? " (bf16 runs natively on this CPU)" : " (bf16 would be emulated here: float32 is faster)");
  });
  return native;
}

}  // namespace vlarft::core
