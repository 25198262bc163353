#include "libs/tabletop/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/tabletop/tasks.h"
#include "nlohmann/json.hpp"

namespace vlarft::tabletop {
namespace {

nlohmann::json IntervalJson(const Interval& i) { return {{"success", i.rate}, {"ci95", {i.low, i.high}}}; }

std::string Cell(const Interval& i) { return absl::StrFormat("%.1f [%.1f, %.1f]", 100 * i.rate, 100 * i.low, 100 * i.high); }

std::string ColumnName(const EvalReport& r) {
  return r.perturbation == "none" ? r.policy : absl::StrCat(r.policy, " (", r.perturbation, ")");
}

std::string Row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const std::string& c : cells) absl::StrAppend(&out, " ", c, " |");
  return out + "\n";
}

// Markdown header rule: the first `text_columns` left-aligned, the numbers right-aligned.
std::string Rule(size_t columns, size_t text_columns = 1) {
  std::string out = "|";
  for (size_t i = 0; i < columns; ++i) out += i < text_columns ? "---|" : "---:|";
  return out + "\n";
}

}  // namespace

Interval Wilson(int64_t successes, int64_t trials) {
  if (trials <= 0) return {};
  const double z = 1.959963984540054, n = static_cast<double>(trials), p = successes / n;
  const double denom = 1 + z * z / n;
  const double centre = (p + z * z / (2 * n)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom;
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

void Summarize(EvalReport* report) {
  report->suites.clear();
  int64_t successes = 0, episodes = 0;
  for (const std::string& suite : SuiteNames()) {
    EvalReport::Suite s{suite, 0, 0, {}};
    for (const TaskOutcome& t : report->tasks) {
      if (t.suite == suite) s.successes += t.successes, s.episodes += t.episodes;
    }
    if (s.episodes == 0) continue;
    s.success = Wilson(s.successes, s.episodes);
    successes += s.successes, episodes += s.episodes;
    report->suites.push_back(s);
  }
  report->average = Wilson(successes, episodes);
  double mean = 0;
  for (const EvalReport::Suite& s : report->suites) mean += s.success.rate;
  if (!report->suites.empty()) report->average.rate = mean / report->suites.size();
}

std::string ReportJson(const EvalReport& report) {
  nlohmann::json j;
  j["policy"] = report.policy;
  j["perturbation"] = report.perturbation;
  j["episodes_per_task"] = report.episodes_per_task;
  j["seed"] = report.seed;
  j["image_size"] = report.image_size;
  if (!report.precision.empty()) j["precision"] = report.precision;
  j["seconds"] = report.seconds;
  j["tasks"] = nlohmann::json::array();
  for (const TaskOutcome& t : report.tasks) {
    j["tasks"].push_back({{"suite", t.suite},
                          {"task", t.task},
                          {"successes", t.successes},
                          {"episodes", t.episodes},
                          {"success", t.episodes ? static_cast<double>(t.successes) / t.episodes : 0.0},
                          {"mean_steps", t.mean_steps},
                          {"instruction", t.instruction},
                          {"outcomes", t.outcomes}});
  }
  for (const EvalReport::Suite& s : report.suites) {
    j["suites"][s.name] = IntervalJson(s.success);
    j["suites"][s.name]["successes"] = s.successes;
    j["suites"][s.name]["episodes"] = s.episodes;
  }
  j["average"] = IntervalJson(report.average);
  return j.dump(2);
}

std::string ReportsJson(const std::vector<EvalReport>& reports) {
  nlohmann::json j = nlohmann::json::array();
  for (const EvalReport& r : reports) j.push_back(nlohmann::json::parse(ReportJson(r)));
  return j.dump(2);
}

namespace {

// Reads `key` of `object` into `out`; INVALID_ARGUMENT naming `where.key` if missing or mistyped.
template <typename T>
absl::Status ReadField(const nlohmann::json& object, const char* key, const std::string& where, T* out) {
  const auto it = object.find(key);
  if (it == object.end()) return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " is missing"));
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " has the wrong type"));
  }
  return absl::OkStatus();
}

absl::StatusOr<EvalReport> ReportFromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  EvalReport report;
  absl::Status status = ReadField(j, "policy", where, &report.policy);
  if (status.ok()) status = ReadField(j, "perturbation", where, &report.perturbation);
  if (status.ok()) status = ReadField(j, "episodes_per_task", where, &report.episodes_per_task);
  if (status.ok()) status = ReadField(j, "seed", where, &report.seed);
  if (status.ok()) status = ReadField(j, "image_size", where, &report.image_size);
  if (status.ok()) status = ReadField(j, "seconds", where, &report.seconds);
  if (status.ok() && j.contains("precision")) status = ReadField(j, "precision", where, &report.precision);
  if (!status.ok()) return status;
  const auto tasks = j.find("tasks");
  if (tasks == j.end() || !tasks->is_array()) return absl::InvalidArgumentError(absl::StrCat(where, ".tasks is not an array"));
  for (size_t i = 0; i < tasks->size(); ++i) {
    const std::string at = absl::StrCat(where, ".tasks[", i, "]");
    const nlohmann::json& t = (*tasks)[i];
    TaskOutcome task;
    status = ReadField(t, "suite", at, &task.suite);
    if (status.ok()) status = ReadField(t, "task", at, &task.task);
    if (status.ok()) status = ReadField(t, "successes", at, &task.successes);
    if (status.ok()) status = ReadField(t, "episodes", at, &task.episodes);
    if (status.ok()) status = ReadField(t, "mean_steps", at, &task.mean_steps);
    if (status.ok()) status = ReadField(t, "instruction", at, &task.instruction);
    if (status.ok() && t.contains("outcomes")) status = ReadField(t, "outcomes", at, &task.outcomes);
    if (!status.ok()) return status;
    if (task.successes < 0 || task.episodes < task.successes) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": successes ", task.successes, " of ", task.episodes, " episodes"));
    }
    if (!task.outcomes.empty() &&
        (static_cast<int>(task.outcomes.size()) != task.episodes ||
         task.outcomes.find_first_not_of("01") != std::string::npos ||
         std::count(task.outcomes.begin(), task.outcomes.end(), '1') != task.successes)) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".outcomes must be ", task.episodes, " characters 0/1 with ", task.successes, " ones"));
    }
    report.tasks.push_back(std::move(task));
  }
  Summarize(&report);
  return report;
}

}  // namespace

absl::StatusOr<std::vector<EvalReport>> ParseReportsJson(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("evaluation results: not valid JSON");
  std::vector<EvalReport> reports;
  if (!j.is_array()) {
    absl::StatusOr<EvalReport> report = ReportFromJson(j, "report");
    if (!report.ok()) return report.status();
    reports.push_back(*std::move(report));
    return reports;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    absl::StatusOr<EvalReport> report = ReportFromJson(j[i], absl::StrCat("reports[", i, "]"));
    if (!report.ok()) return report.status();
    reports.push_back(*std::move(report));
  }
  return reports;
}

std::string ReportMarkdown(const std::vector<EvalReport>& reports) {
  if (reports.empty()) return "";
  std::vector<std::string> header = {"suite"};
  for (const EvalReport& r : reports) header.push_back(ColumnName(r) + ", success % [95% CI]");
  std::string out = Row(header) + Rule(header.size());
  for (const std::string& suite : SuiteNames()) {
    std::vector<std::string> cells = {suite};
    bool any = false;
    for (const EvalReport& r : reports) {
      auto it = std::find_if(r.suites.begin(), r.suites.end(), [&](const EvalReport::Suite& s) { return s.name == suite; });
      cells.push_back(it == r.suites.end() ? "-" : Cell(it->success));
      any |= it != r.suites.end();
    }
    if (any) out += Row(cells);
  }
  std::vector<std::string> average = {"**average**"};
  for (const EvalReport& r : reports) average.push_back("**" + Cell(r.average) + "**");
  return out + Row(average);
}

std::string PerturbationMarkdown(const std::vector<EvalReport>& reports) {
  std::vector<std::string> policies, perturbations;
  for (const EvalReport& r : reports) {
    if (std::find(policies.begin(), policies.end(), r.policy) == policies.end()) policies.push_back(r.policy);
    if (std::find(perturbations.begin(), perturbations.end(), r.perturbation) == perturbations.end()) {
      perturbations.push_back(r.perturbation);
    }
  }
  if (reports.empty()) return "";
  std::vector<std::string> header = {"policy"};
  for (const std::string& p : perturbations) header.push_back(p);
  std::string out = Row(header) + Rule(header.size());
  for (const std::string& policy : policies) {
    std::vector<std::string> cells = {policy};
    for (const std::string& p : perturbations) {
      auto it = std::find_if(reports.begin(), reports.end(),
                             [&](const EvalReport& r) { return r.policy == policy && r.perturbation == p; });
      cells.push_back(it == reports.end() ? "-" : Cell(it->average));
    }
    out += Row(cells);
  }
  return out;
}

std::string TaskMarkdown(const std::vector<EvalReport>& reports) {
  if (reports.empty()) return "";
  std::vector<std::string> header = {"suite", "task"};
  for (const EvalReport& r : reports) header.push_back(ColumnName(r));
  std::string out = Row(header) + Rule(header.size(), 2);
  for (size_t t = 0; t < reports[0].tasks.size(); ++t) {
    std::vector<std::string> cells = {reports[0].tasks[t].suite, reports[0].tasks[t].task};
    for (const EvalReport& r : reports) {
      cells.push_back(t < r.tasks.size() ? absl::StrCat(r.tasks[t].successes, "/", r.tasks[t].episodes) : "-");
    }
    out += Row(cells);
  }
  return out;
}

absl::Status WriteReports(const std::string& dir, const std::string& stem, const std::vector<EvalReport>& reports) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::filesystem::path base = std::filesystem::path(dir) / stem;
  std::ofstream json(base.string() + ".json");
  json << ReportsJson(reports) << "\n";
  if (!json) return absl::PermissionDeniedError(absl::StrCat("cannot write ", base.string(), ".json"));

  std::vector<EvalReport> unperturbed;
  for (const EvalReport& r : reports) {
    if (r.perturbation == "none") unperturbed.push_back(r);
  }
  std::string md;
  if (!unperturbed.empty()) {
    absl::StrAppend(&md, "## Success rate by suite\n\n", ReportMarkdown(unperturbed), "\n");
  }
  if (unperturbed.size() != reports.size()) {
    absl::StrAppend(&md, "## Success rate under perturbations (average over suites, % [95% CI])\n\n",
                    PerturbationMarkdown(reports), "\n");
  }
  absl::StrAppend(&md, "## Per task (successes/episodes)\n\n", TaskMarkdown(reports));
  std::ofstream markdown(base.string() + ".md");
  markdown << md;
  if (!markdown) return absl::PermissionDeniedError(absl::StrCat("cannot write ", base.string(), ".md"));
  return absl::OkStatus();
}

}  // namespace vlarft::tabletop
