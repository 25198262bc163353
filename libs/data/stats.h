// Per-dimension statistics of action and proprio vectors (min, max, mean, population std), written
// next to demonstrations (dataset.json, and each file's data/@action_stats) and used by the
// models' normalisers.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace vlarft::data {

struct RangeStats {
  std::vector<double> min, max, mean, std;
};

// Over `rows` vectors of `dims` floats each; all zeros when there are none.
RangeStats ComputeStats(const std::vector<const float*>& rows, int dims);
// Over a flat buffer of consecutive `dims`-vectors.
RangeStats ComputeStats(const std::vector<float>& flat, int dims);

nlohmann::json StatsToJson(const RangeStats& stats);

}  // namespace vlarft::data
