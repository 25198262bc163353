// `vlarft eval compare`: two `vlarft eval --out` results of the same episodes (same seed, episodes
// per task and perturbation), base vs tuned, compared episode by episode: the difference of the
// success rates per suite and on average with a paired 95% interval and the exact McNemar test.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "libs/core/file_io.h"
#include "libs/core/status.h"
#include "libs/tabletop/paired_comparison.h"
#include "tools/vlarft/command.h"
#include "tools/vlarft/command_options.h"
#include "tools/vlarft/policy_evaluation.h"

namespace vlarft::cli {
namespace {

struct EvalCompareOptions {
  std::string base;                   // <name>.json of the base policy's evaluation
  std::string tuned;                  // <name>.json of the fine-tuned policy's evaluation
  std::string perturbation = "none";  // which report of each file (files from --perturbation=all hold 9)

  template <typename V>
  void VisitFields(V& v) {
    v.Field("base", base, "results JSON (vlarft eval --out) of the base policy");
    v.Field("tuned", tuned, "results JSON of the fine-tuned policy, same --seed and --episodes_per_task");
    v.Field("perturbation", perturbation, "which report of each file to compare (none or a perturbation name)");
  }
};

absl::StatusOr<tabletop::EvalReport> ReadReport(const std::string& path, const std::string& perturbation) {
  VLARFT_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  absl::StatusOr<std::vector<tabletop::EvalReport>> reports = tabletop::ParseReportsJson(text);
  if (!reports.ok()) return core::Annotate(reports.status(), path);
  for (tabletop::EvalReport& r : *reports) {
    if (r.perturbation == perturbation) return std::move(r);
  }
  return absl::NotFoundError(absl::StrCat(path, " has no report with perturbation ", perturbation));
}

absl::Status RunEvalCompare(const std::vector<std::string>& args) {
  EvalCompareOptions options;
  VLARFT_ASSIGN_OR_RETURN(bool run, ParseOptionsOrHelp(args, "usage: vlarft eval compare --base A.json --tuned B.json",
                                                       &options));
  if (!run) return absl::OkStatus();
  if (options.base.empty() || options.tuned.empty()) return absl::InvalidArgumentError("need --base and --tuned");
  VLARFT_ASSIGN_OR_RETURN(const tabletop::EvalReport base, ReadReport(options.base, options.perturbation));
  VLARFT_ASSIGN_OR_RETURN(const tabletop::EvalReport tuned, ReadReport(options.tuned, options.perturbation));
  VLARFT_ASSIGN_OR_RETURN(const tabletop::PairedComparison comparison, tabletop::ComparePaired(base, tuned));
  std::cout << tabletop::ReportMarkdown({base, tuned}) << "\n" << tabletop::PairedMarkdown(comparison, "base", "tuned");
  return absl::OkStatus();
}

}  // namespace

void AddEvalCompareCommands(std::vector<Command>& commands) {
  commands.push_back({{"eval", "compare"}, "two evaluations of the same episodes, paired (base vs tuned)", &RunEvalCompare});
}

}  // namespace vlarft::cli
