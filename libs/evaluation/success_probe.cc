#include "libs/evaluation/success_probe.h"

#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace vlarft::evaluation {

absl::StatusOr<SuccessEstimate> ParseEvaluatorResult(const std::string& line) {
  const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.is_object()) return absl::DataLossError("not a JSON object");
  const auto version = record.find("version");
  const auto report = record.find("report");
  if (version == record.end() || !version->is_number_integer() || report == record.end() || !report->is_object()) {
    return absl::DataLossError("needs an integer \"version\" and a \"report\" object");
  }
  const auto average = report->find("average");
  if (average == report->end() || !average->is_object()) return absl::DataLossError("report has no \"average\"");
  const auto rate = average->find("success");
  const auto ci95 = average->find("ci95");
  if (rate == average->end() || !rate->is_number() || ci95 == average->end() || !ci95->is_array() ||
      ci95->size() != 2 || !(*ci95)[0].is_number() || !(*ci95)[1].is_number()) {
    return absl::DataLossError("report average needs a number \"success\" and a two-number \"ci95\"");
  }
  SuccessEstimate estimate;
  estimate.step = version->get<int64_t>();
  estimate.success = {rate->get<double>(), (*ci95)[0].get<double>(), (*ci95)[1].get<double>()};
  const auto seconds = report->find("seconds");
  if (seconds != report->end() && seconds->is_number()) estimate.seconds = seconds->get<double>();
  return estimate;
}

SuccessProbe::SuccessProbe(std::string results_file) : results_file_(std::move(results_file)) {
  std::error_code ignored;
  std::filesystem::remove(results_file_, ignored);
}

void SuccessProbe::Poll(const std::function<void(const std::string&)>& progress) {
  std::ifstream in(results_file_, std::ios::binary);
  if (!in) return;  // the evaluator has not written anything yet
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: the evaluator is still writing this line
    offset_ += line.size() + 1;
    absl::StatusOr<SuccessEstimate> estimate = ParseEvaluatorResult(line);
    if (!estimate.ok()) {
      progress(absl::StrCat("success probe: skipped a line of ", results_file_, ": ", estimate.status().message()));
      continue;
    }
    if (estimate->step < 0) {
      baseline_ = *estimate;
      progress(absl::StrFormat("success probe: start policy %.1f%% [%.1f, %.1f]  (%.0f s)", 100 * estimate->success.rate,
                               100 * estimate->success.low, 100 * estimate->success.high, estimate->seconds));
      continue;
    }
    history_.push_back(*estimate);
    progress(absl::StrFormat("success probe: step %d  %.1f%% [%.1f, %.1f]  (%.0f s)", estimate->step,
                             100 * estimate->success.rate, 100 * estimate->success.low, 100 * estimate->success.high,
                             estimate->seconds));
  }
}

std::optional<SuccessEstimate> SuccessProbe::latest() const {
  if (history_.empty()) return std::nullopt;
  return history_.back();
}

}  // namespace vlarft::evaluation
