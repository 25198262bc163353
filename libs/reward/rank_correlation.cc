#include "libs/reward/rank_correlation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace vlarft::reward {

std::vector<double> AverageRanks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && values[order[j]] == values[order[i]]) ++j;
    // Positions i..j-1 (0-based) are ranks i+1..j; they share the mean (i + 1 + j) / 2.
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    for (size_t k = i; k < j; ++k) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

std::optional<double> Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n != y.size() || n < 2) return std::nullopt;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  // Constant inputs (up to rounding of the mean) have no correlation.
  const double scale_x = std::max(1.0, std::abs(mx)), scale_y = std::max(1.0, std::abs(my));
  if (sxx <= 1e-24 * n * scale_x * scale_x || syy <= 1e-24 * n * scale_y * scale_y) return std::nullopt;
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::optional<double> Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  return Pearson(AverageRanks(x), AverageRanks(y));
}

std::optional<double> Auroc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  if (scores.size() != positive.size()) return std::nullopt;
  const std::vector<double> ranks = AverageRanks(scores);
  double rank_sum = 0;
  int64_t n_pos = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (positive[i]) rank_sum += ranks[i], ++n_pos;
  }
  const int64_t n_neg = static_cast<int64_t>(scores.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::nullopt;
  // Mann–Whitney: U = R⁺ − n⁺(n⁺ + 1)/2 counts (positive > negative) pairs, ties as ½.
  const double u = rank_sum - 0.5 * static_cast<double>(n_pos) * static_cast<double>(n_pos + 1);
  return u / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

std::optional<double> PooledSpearman(const GroupedPairs& data, const std::vector<int64_t>& groups) {
  std::vector<double> x, y;
  for (int64_t g : groups) {
    x.insert(x.end(), data.x[g].begin(), data.x[g].end());
    y.insert(y.end(), data.y[g].begin(), data.y[g].end());
  }
  return Spearman(x, y);
}

std::optional<double> MeanWithinGroupSpearman(const GroupedPairs& data, const std::vector<int64_t>& groups,
                                              int64_t* defined) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t g : groups) {
    if (const std::optional<double> rho = Spearman(data.x[g], data.y[g])) sum += *rho, ++count;
  }
  if (defined != nullptr) *defined = count;
  if (count == 0) return std::nullopt;
  return sum / static_cast<double>(count);
}

std::vector<int64_t> AllGroups(int64_t n) {
  std::vector<int64_t> all(std::max<int64_t>(0, n));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

std::optional<double> Quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(values.size() - 1, below + 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

std::optional<ConfidenceInterval> ClusterBootstrap(
    int64_t clusters, const std::function<std::optional<double>(const std::vector<int64_t>&)>& statistic,
    int64_t resamples, uint64_t seed, double level) {
  if (clusters < 1 || resamples < 1 || !(level > 0 && level < 1)) return std::nullopt;
  // mt19937_64's output sequence is fixed by the standard (unlike the std:: distributions), so
  // the same seed gives the same interval everywhere.
  std::mt19937_64 engine(seed);
  std::vector<double> values;
  std::vector<int64_t> draw(clusters);
  for (int64_t r = 0; r < resamples; ++r) {
    for (int64_t& c : draw) c = static_cast<int64_t>(engine() % static_cast<uint64_t>(clusters));
    if (const std::optional<double> v = statistic(draw)) values.push_back(*v);
  }
  if (values.empty()) return std::nullopt;
  ConfidenceInterval ci;
  ci.low = *Quantile(values, 0.5 * (1 - level));
  ci.high = *Quantile(values, 0.5 * (1 + level));
  ci.valid_resamples = static_cast<int64_t>(values.size());
  return ci;
}

}  // namespace vlarft::reward
