#include "libs/tabletop/paired_comparison.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vlarft::tabletop {
namespace {

constexpr double kZ95 = 1.959963984540054;

// Variance of the paired difference estimate (b − c) / n for one group of n episodes.
double PairedVariance(int tuned_only, int base_only, int episodes) {
  if (episodes == 0) return 0;
  const double n = episodes, d = tuned_only - base_only;
  return std::max(0.0, tuned_only + base_only - d * d / n) / (n * n);
}

void SetInterval(PairedDifference* d, double variance) {
  const double half = kZ95 * std::sqrt(variance);
  d->low = d->difference - half;
  d->high = d->difference + half;
}

}  // namespace

double McNemarExactP(int tuned_only, int base_only) {
  const int n = tuned_only + base_only, k = std::min(tuned_only, base_only);
  if (n == 0) return 1.0;
  // Sum of C(n, i) / 2^n for i <= k in log space (n reaches thousands).
  double tail = 0;
  for (int i = 0; i <= k; ++i) {
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  }
  return std::min(1.0, 2 * tail);
}

absl::StatusOr<PairedComparison> ComparePaired(const EvalReport& base, const EvalReport& tuned) {
  if (base.seed != tuned.seed || base.episodes_per_task != tuned.episodes_per_task ||
      base.perturbation != tuned.perturbation || base.tasks.size() != tuned.tasks.size()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "paired comparison needs the same episodes: base has seed %d, %d episodes per task, %d tasks, perturbation %s; "
        "tuned has seed %d, %d, %d, %s",
        base.seed, base.episodes_per_task, base.tasks.size(), base.perturbation, tuned.seed, tuned.episodes_per_task,
        tuned.tasks.size(), tuned.perturbation));
  }
  PairedComparison out;
  double variance_sum = 0;
  for (size_t t = 0; t < base.tasks.size(); ++t) {
    const TaskOutcome &a = base.tasks[t], &b = tuned.tasks[t];
    if (a.task != b.task) {
      return absl::FailedPreconditionError(absl::StrCat("task ", t, " differs: ", a.task, " vs ", b.task));
    }
    if (a.outcomes.size() != static_cast<size_t>(a.episodes) || b.outcomes.size() != a.outcomes.size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "task ", a.task, " has no per-episode outcomes in one of the reports (written before they were recorded?)"));
    }
    auto suite = std::find_if(out.suites.begin(), out.suites.end(),
                              [&](const PairedDifference& d) { return d.name == a.suite; });
    if (suite == out.suites.end()) {
      out.suites.push_back({a.suite});
      suite = out.suites.end() - 1;
    }
    for (size_t e = 0; e < a.outcomes.size(); ++e) {
      suite->tuned_only += b.outcomes[e] == '1' && a.outcomes[e] == '0';
      suite->base_only += a.outcomes[e] == '1' && b.outcomes[e] == '0';
    }
    suite->episodes += a.episodes;
  }
  out.average.name = "average";
  for (PairedDifference& d : out.suites) {
    d.difference = d.episodes ? static_cast<double>(d.tuned_only - d.base_only) / d.episodes : 0.0;
    const double variance = PairedVariance(d.tuned_only, d.base_only, d.episodes);
    SetInterval(&d, variance);
    d.p_value = McNemarExactP(d.tuned_only, d.base_only);
    variance_sum += variance;
    out.average.episodes += d.episodes;
    out.average.tuned_only += d.tuned_only;
    out.average.base_only += d.base_only;
    out.average.difference += d.difference / out.suites.size();
  }
  const double suites = std::max<size_t>(out.suites.size(), 1);
  SetInterval(&out.average, variance_sum / (suites * suites));
  out.average.p_value = McNemarExactP(out.average.tuned_only, out.average.base_only);
  return out;
}

std::string PairedMarkdown(const PairedComparison& comparison, const std::string& base_name,
                           const std::string& tuned_name) {
  std::string md = absl::StrCat("| suite | ", tuned_name, " − ", base_name, ", points [paired 95% CI] | episodes only ",
                                tuned_name, " solved | only ", base_name, " solved | McNemar p |\n",
                                "|---|---:|---:|---:|---:|\n");
  auto row = [&](const PairedDifference& d, bool bold) {
    const std::string cell = absl::StrFormat("%+.1f [%+.1f, %+.1f]", 100 * d.difference, 100 * d.low, 100 * d.high);
    absl::StrAppend(&md, "| ", bold ? "**" + d.name + "**" : d.name, " | ", bold ? "**" + cell + "**" : cell, " | ",
                    d.tuned_only, " | ", d.base_only, " | ", absl::StrFormat("%.3g", d.p_value), " |\n");
  };
  for (const PairedDifference& d : comparison.suites) row(d, false);
  row(comparison.average, true);
  return md;
}

}  // namespace vlarft::tabletop
