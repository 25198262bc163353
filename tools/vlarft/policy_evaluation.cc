#include "tools/vlarft/policy_evaluation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/status.h"
#include "libs/tabletop/report.h"

namespace vlarft::cli {

PairedResults MakePairedResults(const tabletop::EvalReport& base, const tabletop::EvalReport& tuned) {
  PairedResults out;
  out.markdown = tabletop::ReportMarkdown({base, tuned});
  out.record = nlohmann::json::parse(
      absl::StrCat("{\"base\": ", tabletop::ReportJson(base), ", \"rft\": ", tabletop::ReportJson(tuned), "}"));
  const absl::StatusOr<tabletop::PairedComparison> paired = tabletop::ComparePaired(base, tuned);
  if (!paired.ok()) {
    out.record["paired_error"] = std::string(paired.status().message());
    return out;
  }
  absl::StrAppend(&out.markdown, "\nRFT − base on the same episodes (paired):\n\n",
                  tabletop::PairedMarkdown(*paired, "base", "RFT"));
  out.summary = absl::StrFormat(" (%+.1f points, paired 95%% CI [%+.1f, %+.1f], McNemar p = %.3g)",
                                100 * paired->average.difference, 100 * paired->average.low,
                                100 * paired->average.high, paired->average.p_value);
  out.record["paired"] = {{"difference", paired->average.difference},
                          {"ci95", {paired->average.low, paired->average.high}},
                          {"rft_only", paired->average.tuned_only},
                          {"base_only", paired->average.base_only},
                          {"p_value", paired->average.p_value}};
  for (const tabletop::PairedDifference& d : paired->suites) {
    out.record["paired"]["suites"][d.name] = {{"difference", d.difference}, {"ci95", {d.low, d.high}},
                                              {"rft_only", d.tuned_only}, {"base_only", d.base_only},
                                              {"p_value", d.p_value}};
  }
  return out;
}

}  // namespace vlarft::cli
