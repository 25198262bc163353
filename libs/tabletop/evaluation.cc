#include "libs/tabletop/evaluation.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/random.h"
#include "nlohmann/json.hpp"

namespace vlarft::tabletop {
namespace {

class ExpertPolicy : public Policy {
 public:
  explicit ExpertPolicy(const std::vector<const TabletopEnv*>* envs) : envs_(envs) {}
  std::string name() const override { return "scripted-expert"; }
  absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) override {
    if (experts_.size() != envs_->size()) {
      experts_.clear();
      for (size_t i = 0; i < envs_->size(); ++i) experts_.emplace_back(ExpertOptions{}, i);
    }
    // The expert replans every step, so it returns chunks of one action.
    std::vector<ActionChunk> out;
    for (const Observation& o : observations) out.push_back({experts_[o.episode].Act(*(*envs_)[o.episode])});
    return out;
  }

 private:
  const std::vector<const TabletopEnv*>* envs_;
  std::vector<ScriptedExpert> experts_;
};

class RandomPolicy : public Policy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  std::string name() const override { return "random"; }
  absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) override {
    std::vector<ActionChunk> out;
    for (size_t i = 0; i < observations.size(); ++i) {
      ActionChunk chunk;
      for (int k = 0; k < 8; ++k) {
        Action a;
        for (float& v : a) v = static_cast<float>(rng_.Uniform(-1, 1));
        chunk.push_back(a);
      }
      out.push_back(chunk);
    }
    return out;
  }

 private:
  Random rng_;
};

// Runs `fn(i)` for i in [0, n) on `threads` threads.
template <typename Fn>
void ParallelFor(int n, int threads, Fn fn) {
  threads = std::max(1, std::min(threads, n));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = t; i < n; i += threads) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

}  // namespace

std::unique_ptr<Policy> MakeExpertPolicy(const std::vector<const TabletopEnv*>* envs) {
  return std::make_unique<ExpertPolicy>(envs);
}
std::unique_ptr<Policy> MakeRandomPolicy(uint64_t seed) { return std::make_unique<RandomPolicy>(seed); }

Interval Wilson(int64_t successes, int64_t trials) {
  if (trials <= 0) return {};
  const double z = 1.959963984540054, n = static_cast<double>(trials), p = successes / n;
  const double denom = 1 + z * z / n;
  const double centre = (p + z * z / (2 * n)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom;
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

absl::StatusOr<EvalReport> Evaluate(Policy& policy, const EvalOptions& options,
                                    std::vector<const TabletopEnv*>* envs_out) {
  if (options.episodes_per_task < 1 || options.image_size < 8 || options.chunk_length < 1) {
    return absl::InvalidArgumentError("need episodes_per_task >= 1, image_size >= 8, chunk_length >= 1");
  }
  for (const std::string& s : options.suites) {
    if (std::find(SuiteNames().begin(), SuiteNames().end(), s) == SuiteNames().end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown suite '", s, "' (spatial, object, goal, long)"));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<const Task*> tasks = TasksOfSuites(options.suites);
  std::vector<std::unique_ptr<TabletopEnv>> envs;
  for (const Task* task : tasks) {
    for (int e = 0; e < options.episodes_per_task; ++e) {
      envs.push_back(std::make_unique<TabletopEnv>(*task, StreamSeed(options.seed, task->index, e), options.perturbation));
    }
  }
  if (envs_out != nullptr) {
    envs_out->clear();
    for (const auto& env : envs) envs_out->push_back(env.get());
  }
  std::vector<const TabletopEnv*> active;
  std::vector<int> active_index;
  std::vector<Observation> observations;
  while (true) {
    active.clear();
    active_index.clear();
    for (size_t i = 0; i < envs.size(); ++i) {
      if (!envs[i]->done()) active.push_back(envs[i].get()), active_index.push_back(static_cast<int>(i));
    }
    if (active.empty()) break;
    observations.assign(active.size(), Observation{});
    ParallelFor(static_cast<int>(active.size()), options.threads, [&](int i) {
      const TabletopEnv& env = *active[i];
      Observation& o = observations[i];
      o.frame = env.Render(options.image_size);
      o.size = options.image_size;
      o.instruction = env.task().instruction;
      o.proprio = env.proprio().Flat();
      o.task_index = env.task().index;
      o.episode = active_index[i];
      o.step = env.steps();
    });
    absl::StatusOr<std::vector<ActionChunk>> chunks = policy.ActBatch(observations);
    if (!chunks.ok()) return chunks.status();
    if (chunks->size() != active.size()) {
      return absl::InternalError(absl::StrCat(policy.name(), " returned ", chunks->size(), " chunks for ", active.size(),
                                              " observations"));
    }
    ParallelFor(static_cast<int>(active.size()), options.threads, [&](int i) {
      TabletopEnv& env = *envs[active_index[i]];
      const ActionChunk& chunk = (*chunks)[i];
      for (size_t k = 0; k < chunk.size() && k < static_cast<size_t>(options.chunk_length) && !env.done(); ++k) {
        env.Step(chunk[k]);
      }
      if (chunk.empty()) env.Step(Action{});  // a policy that says nothing still spends time
    });
  }
  EvalReport report;
  report.policy = policy.name();
  report.perturbation = options.perturbation.Name();
  size_t e = 0;
  int64_t total_successes = 0, total_episodes = 0;
  for (const Task* task : tasks) {
    TaskOutcome outcome{task->suite, task->name, 0, options.episodes_per_task};
    for (int k = 0; k < options.episodes_per_task; ++k) outcome.successes += envs[e++]->success();
    report.tasks.push_back(outcome);
    auto it = std::find_if(report.suites.begin(), report.suites.end(),
                           [&](const EvalReport::Suite& s) { return s.name == task->suite; });
    if (it == report.suites.end()) it = report.suites.insert(report.suites.end(), EvalReport::Suite{task->suite});
    it->successes += outcome.successes;
    it->episodes += outcome.episodes;
    total_successes += outcome.successes;
    total_episodes += outcome.episodes;
  }
  double mean = 0;
  for (EvalReport::Suite& s : report.suites) {
    s.success = Wilson(s.successes, s.episodes);
    mean += s.success.rate / report.suites.size();
  }
  report.average = Wilson(total_successes, total_episodes);
  report.average.rate = mean;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string ReportJson(const EvalReport& report) {
  nlohmann::json j;
  j["policy"] = report.policy;
  j["perturbation"] = report.perturbation;
  j["seconds"] = report.seconds;
  for (const TaskOutcome& t : report.tasks) {
    j["tasks"].push_back({{"suite", t.suite}, {"task", t.task}, {"successes", t.successes}, {"episodes", t.episodes}});
  }
  for (const EvalReport::Suite& s : report.suites) {
    j["suites"][s.name] = {{"success", s.success.rate}, {"ci95", {s.success.low, s.success.high}},
                           {"successes", s.successes}, {"episodes", s.episodes}};
  }
  j["average"] = {{"success", report.average.rate}, {"ci95", {report.average.low, report.average.high}}};
  return j.dump(2);
}

std::string ReportMarkdown(const std::vector<EvalReport>& reports) {
  if (reports.empty()) return "";
  std::string out = "| suite |";
  std::string rule = "|---|";
  for (const EvalReport& r : reports) {
    absl::StrAppend(&out, " ", r.policy, r.perturbation == "none" ? "" : absl::StrCat(" (", r.perturbation, ")"), " |");
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  auto cell = [](const Interval& i) {
    return absl::StrFormat(" %.1f%% [%.1f, %.1f] |", 100 * i.rate, 100 * i.low, 100 * i.high);
  };
  for (size_t s = 0; s < reports[0].suites.size(); ++s) {
    out += "| " + reports[0].suites[s].name + " |";
    for (const EvalReport& r : reports) out += s < r.suites.size() ? cell(r.suites[s].success) : " - |";
    out += "\n";
  }
  out += "| **average** |";
  for (const EvalReport& r : reports) out += cell(r.average);
  out += "\n";
  return out;
}

}  // namespace vlarft::tabletop
