#include "tools/vlarft/subgoal_error_table.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::cli {
namespace {

constexpr double kGraspToleranceM = 0.03;  // TabletopEnv::Grasp closes on an object this close (env.cc)

// Nearest-rank quantile of sorted values.
double Quantile(const std::vector<double>& sorted, double q) {
  const size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

std::string Row(const std::string& label, std::vector<double> errors) {
  std::sort(errors.begin(), errors.end());
  const double within = static_cast<double>(std::upper_bound(errors.begin(), errors.end(), kGraspToleranceM) -
                                            errors.begin()) / static_cast<double>(errors.size());
  return absl::StrFormat("| %s | %d | %.1f | %.1f | %.1f |\n", label, errors.size(), 100 * Quantile(errors, 0.5),
                         100 * Quantile(errors, 0.9), 100 * within);
}

}  // namespace

void SubgoalErrorTable::Add(int task_index, double error_m) {
  const std::vector<tabletop::Task>& tasks = tabletop::AllTasks();
  const std::string suite = task_index >= 0 && static_cast<size_t>(task_index) < tasks.size()
                                ? tasks[task_index].suite : "unknown";
  errors_[suite].push_back(error_m);
}

std::string SubgoalErrorTable::Markdown() const {
  if (errors_.empty()) return "";
  std::string md = "| suite | decisions | median error, cm | 90th percentile, cm | within 3 cm, % |\n|---|---:|---:|---:|---:|\n";
  std::vector<double> all;
  std::vector<std::string> order = tabletop::SuiteNames();
  for (const auto& [suite, errors] : errors_) {
    if (std::find(order.begin(), order.end(), suite) == order.end()) order.push_back(suite);
  }
  for (const std::string& suite : order) {
    const auto it = errors_.find(suite);
    if (it == errors_.end()) continue;
    md += Row(suite, it->second);
    all.insert(all.end(), it->second.begin(), it->second.end());
  }
  return md + Row("**all**", all);
}

}  // namespace vlarft::cli
