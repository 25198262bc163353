#include "libs/data/stats.h"

#include <algorithm>
#include <cmath>

namespace vlarft::data {

RangeStats ComputeStats(const std::vector<const float*>& rows, int dims) {
  RangeStats s;
  s.min.assign(dims, 0), s.max.assign(dims, 0), s.mean.assign(dims, 0), s.std.assign(dims, 0);
  if (rows.empty()) return s;
  s.min.assign(rows[0], rows[0] + dims);
  s.max.assign(rows[0], rows[0] + dims);
  for (const float* r : rows) {
    for (int d = 0; d < dims; ++d) {
      s.min[d] = std::min<double>(s.min[d], r[d]);
      s.max[d] = std::max<double>(s.max[d], r[d]);
      s.mean[d] += r[d];
    }
  }
  for (double& m : s.mean) m /= rows.size();
  for (const float* r : rows) {
    for (int d = 0; d < dims; ++d) s.std[d] += (r[d] - s.mean[d]) * (r[d] - s.mean[d]);
  }
  for (double& v : s.std) v = std::sqrt(v / rows.size());
  return s;
}

RangeStats ComputeStats(const std::vector<float>& flat, int dims) {
  std::vector<const float*> rows;
  for (size_t i = 0; i + dims <= flat.size(); i += dims) rows.push_back(flat.data() + i);
  return ComputeStats(rows, dims);
}

nlohmann::json StatsToJson(const RangeStats& stats) {
  return {{"min", stats.min}, {"max", stats.max}, {"mean", stats.mean}, {"std", stats.std}};
}

}  // namespace vlarft::data
