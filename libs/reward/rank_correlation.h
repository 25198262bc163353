// Rank statistics for reward studies ("does the reward order samples the way ground truth does?"):
// Spearman's ρ with ties, AUROC, and a cluster (percentile) bootstrap for their confidence
// intervals. Plain C++ (no LibTorch).
//
//   ranks    average ranks, 1-based: tied values share the mean of the ranks they span
//   Spearman ρ = Pearson correlation of the two average-rank vectors (the tie-correct definition)
//   AUROC    P(score⁺ > score⁻) + ½ P(score⁺ = score⁻) over (positive, negative) pairs
//            (the Mann–Whitney U statistic divided by n⁺ n⁻)
//
// Grouped data: in GRPO only the order *within* a prompt's group matters (advantages are
// group-relative), so a study reports both the pooled ρ over every sample and the mean of per-group
// ρ. Samples of one group are not independent, so confidence intervals resample whole groups.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace vlarft::reward {

std::vector<double> AverageRanks(const std::vector<double>& values);

// nullopt when the sizes differ, n < 2, or either side is constant (ρ is undefined then).
std::optional<double> Pearson(const std::vector<double>& x, const std::vector<double>& y);
std::optional<double> Spearman(const std::vector<double>& x, const std::vector<double>& y);

// nullopt when the sizes differ or either class is empty.
std::optional<double> Auroc(const std::vector<double>& scores, const std::vector<bool>& positive);

// Samples in groups: x[g][i], y[g][i] (every group's two vectors have the same size).
struct GroupedPairs {
  std::vector<std::vector<double>> x, y;
  int64_t groups() const { return static_cast<int64_t>(x.size()); }
};

// ρ over the concatenation of the selected groups (a group may appear several times).
std::optional<double> PooledSpearman(const GroupedPairs& data, const std::vector<int64_t>& groups);
// Mean of per-group ρ over the selected groups where it is defined; `defined` (optional) receives
// how many were. nullopt when none is.
std::optional<double> MeanWithinGroupSpearman(const GroupedPairs& data, const std::vector<int64_t>& groups,
                                              int64_t* defined = nullptr);
// 0, 1, …, n − 1: every group once.
std::vector<int64_t> AllGroups(int64_t n);

struct ConfidenceInterval {
  double low = 0, high = 0;
  int64_t valid_resamples = 0;  // resamples where the statistic was defined
};

// Percentile bootstrap: `resamples` times, draws `clusters` cluster indices with replacement
// (deterministically from `seed`), evaluates `statistic` on them, and returns the (1 − level)/2 and
// (1 + level)/2 quantiles (linear interpolation) of the defined values. nullopt when clusters < 1,
// resamples < 1, level outside (0, 1), or the statistic was never defined.
std::optional<ConfidenceInterval> ClusterBootstrap(
    int64_t clusters, const std::function<std::optional<double>(const std::vector<int64_t>&)>& statistic,
    int64_t resamples, uint64_t seed, double level = 0.95);

// Linear-interpolated quantile (q in [0, 1]) of unsorted values; nullopt when empty.
std::optional<double> Quantile(std::vector<double> values, double q);

}  // namespace vlarft::reward
