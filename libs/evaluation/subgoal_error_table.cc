#include "libs/evaluation/subgoal_error_table.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::evaluation {
namespace {

constexpr double kGraspToleranceM = 0.03;  // TabletopEnv::Grasp closes on an object this close (env.cc)

// Nearest-rank quantile of sorted values.
double Quantile(const std::vector<double>& sorted, double q) {
  const size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

struct Summary {
  double median = 0, p90 = 0, within = 0;
};

Summary Summarise(std::vector<double> errors) {
  if (errors.empty()) return {};
  std::sort(errors.begin(), errors.end());
  const double within = static_cast<double>(std::upper_bound(errors.begin(), errors.end(), kGraspToleranceM) -
                                            errors.begin()) / static_cast<double>(errors.size());
  return {Quantile(errors, 0.5), Quantile(errors, 0.9), within};
}

std::string Row(const std::string& label, const std::vector<double>& first, const std::vector<double>& all) {
  const Summary f = Summarise(first), a = Summarise(all);
  return absl::StrFormat("| %s | %.1f | %.1f | %d | %.1f | %.1f | %.1f |\n", label, 100 * f.median, 100 * f.within,
                         all.size(), 100 * a.median, 100 * a.p90, 100 * a.within);
}

}  // namespace

void SubgoalErrorTable::Add(int task_index, int step, double error_m) {
  const std::vector<tabletop::Task>& tasks = tabletop::AllTasks();
  const std::string suite = task_index >= 0 && static_cast<size_t>(task_index) < tasks.size()
                                ? tasks[task_index].suite : "unknown";
  errors_[suite].push_back(error_m);
  if (step == 0) first_errors_[suite].push_back(error_m);
}

std::string SubgoalErrorTable::Markdown() const {
  if (errors_.empty()) return "";
  std::string md =
      "| suite | first decision: median error, cm | within 3 cm, % | all decisions | median error, cm | "
      "90th percentile, cm | within 3 cm, % |\n|---|---:|---:|---:|---:|---:|---:|\n";
  std::vector<double> all, all_first;
  std::vector<std::string> order = tabletop::SuiteNames();
  for (const auto& [suite, errors] : errors_) {
    if (std::find(order.begin(), order.end(), suite) == order.end()) order.push_back(suite);
  }
  for (const std::string& suite : order) {
    const auto it = errors_.find(suite);
    if (it == errors_.end()) continue;
    const auto first = first_errors_.find(suite);
    const std::vector<double> none;
    const std::vector<double>& firsts = first == first_errors_.end() ? none : first->second;
    md += Row(suite, firsts, it->second);
    all.insert(all.end(), it->second.begin(), it->second.end());
    all_first.insert(all_first.end(), firsts.begin(), firsts.end());
  }
  return md + Row("**all**", all_first, all);
}

}  // namespace vlarft::evaluation
