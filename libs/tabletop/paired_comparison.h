// Base vs fine-tuned policy on the *same* episodes (same seed, tasks, episodes and perturbation):
// the difference of their success rates with a paired 95% interval and an exact McNemar test.
//
// Why paired: two separate Wilson intervals treat the evaluations as independent samples, but
// both policies face the same layouts, so most episodes end the same way for both (an easy layout
// is easy for each). Only the discordant episodes carry information about the difference; the
// paired interval uses exactly that and is much narrower than the overlap of the two intervals.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tabletop/report.h"

namespace vlarft::tabletop {

struct PairedDifference {
  std::string name;             // suite name, or "average"
  int episodes = 0;
  int tuned_only = 0;           // episodes only the tuned policy solved
  int base_only = 0;            // episodes only the base policy solved
  double difference = 0;        // tuned − base success rate
  double low = 0, high = 0;     // 95% interval of the difference (normal approximation, paired)
  double p_value = 1;           // exact two-sided McNemar test on the discordant episodes
};

struct PairedComparison {
  std::vector<PairedDifference> suites;  // in the reports' suite order
  // The paper's average is the mean of the suite rates, so its difference is the mean of the
  // suite differences; its variance is the sum of the suite variances over (number of suites)².
  // The McNemar p-value pools the discordant episodes of all suites.
  PairedDifference average;
};

// FAILED_PRECONDITION naming the mismatch when the reports did not run the same episodes or lack
// per-episode outcomes (results written before outcomes were recorded).
absl::StatusOr<PairedComparison> ComparePaired(const EvalReport& base, const EvalReport& tuned);

// Exact two-sided McNemar p-value: 2 · P[Binomial(b + c, 1/2) <= min(b, c)], capped at 1.
double McNemarExactP(int tuned_only, int base_only);

// A row per suite plus the average: difference in points with its interval, discordant counts, p;
// the header names the two policies.
std::string PairedMarkdown(const PairedComparison& comparison, const std::string& base_name,
                           const std::string& tuned_name);

}  // namespace vlarft::tabletop
