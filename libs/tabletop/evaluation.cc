#include "libs/tabletop/evaluation.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/tabletop/random.h"
#include "libs/tabletop/subgoal.h"

namespace vlarft::tabletop {
namespace {

// A fixed set of worker threads that run `fn(i)` for i in [0, n), strided by thread; the calling
// thread takes part. Reused for every decision of an evaluation.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { Loop(t); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& w : workers_) w.join();
  }

  void ParallelFor(int n, const std::function<void(int)>& fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn, n_ = n, pending_ = static_cast<int>(workers_.size()), ++generation_;
    }
    wake_.notify_all();
    Run(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  int stride() const { return static_cast<int>(workers_.size()) + 1; }
  void Run(int t) {
    for (int i = t; i < n_; i += stride()) (*fn_)(i);
  }
  void Loop(int t) {
    uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      Run(t);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace

Observation Observe(const TabletopEnv& env, int image_size, int episode) {
  Observation o;
  o.frame.resize(static_cast<size_t>(image_size) * image_size * 3);
  env.RenderInto(image_size, o.frame.data());
  o.size = image_size;
  o.instruction = env.task().instruction;
  o.proprio = env.proprio().Flat();
  o.task_index = env.task().index;
  o.episode = episode;
  o.step = env.steps();
  o.privileged_subgoal = NextSubgoalXy(env);
  return o;
}

absl::StatusOr<std::vector<ActionChunk>> ActChecked(Policy& policy, const std::vector<Observation>& observations) {
  absl::StatusOr<std::vector<ActionChunk>> chunks = policy.ActBatch(observations);
  if (!chunks.ok()) return absl::Status(chunks.status().code(), absl::StrCat(policy.name(), ": ", chunks.status().message()));
  if (chunks->size() != observations.size()) {
    return absl::InternalError(absl::StrCat(policy.name(), " returned ", chunks->size(), " chunks for ",
                                            observations.size(), " observations"));
  }
  return chunks;
}

absl::Status RunEpisodes(Policy& policy, const std::vector<TabletopEnv*>& envs, int image_size, int chunk_length,
                         int threads, const std::function<void(const EpisodeProgress&)>& progress) {
  WorkerPool pool(std::max(1, threads));
  std::vector<int> active;
  std::vector<Observation> observations;
  EpisodeProgress where;
  where.episodes = static_cast<int>(envs.size());
  for (const TabletopEnv* env : envs) {
    const int left = std::max(0, env->task().max_steps - env->steps());
    where.max_decisions = std::max(where.max_decisions, (left + chunk_length - 1) / chunk_length);
  }
  while (true) {
    active.clear();
    for (size_t i = 0; i < envs.size(); ++i) {
      if (!envs[i]->done()) active.push_back(static_cast<int>(i));
    }
    if (progress && where.decisions > 0) {
      where.finished = where.episodes - static_cast<int>(active.size());
      progress(where);
    }
    if (active.empty()) return absl::OkStatus();
    ++where.decisions;
    observations.resize(active.size());
    pool.ParallelFor(static_cast<int>(active.size()),
                     [&](int i) { observations[i] = Observe(*envs[active[i]], image_size, active[i]); });
    VLARFT_ASSIGN_OR_RETURN(const std::vector<ActionChunk> chunks, ActChecked(policy, observations));
    pool.ParallelFor(static_cast<int>(active.size()), [&](int i) {
      TabletopEnv& env = *envs[active[i]];
      const ActionChunk& chunk = chunks[i];
      for (size_t k = 0; k < chunk.size() && k < static_cast<size_t>(chunk_length) && !env.done(); ++k) {
        env.Step(chunk[k]);
      }
      if (chunk.empty()) env.Step(Action{});  // a policy that says nothing still spends time
    });
  }
}

absl::StatusOr<EvalReport> Evaluate(Policy& policy, const EvalOptions& options,
                                    std::vector<const TabletopEnv*>* envs_out) {
  if (options.episodes_per_task < 1 || options.image_size < 8 || options.chunk_length < 1 || options.threads < 1) {
    return absl::InvalidArgumentError("need episodes_per_task >= 1, image_size >= 8, chunk_length >= 1, threads >= 1");
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
  std::vector<TabletopEnv*> running;
  for (const auto& env : envs) running.push_back(env.get());
  VLARFT_RETURN_IF_ERROR(
      RunEpisodes(policy, running, options.image_size, options.chunk_length, options.threads, options.progress));

  EvalReport report;
  report.policy = policy.name();
  report.perturbation = options.perturbation.Name();
  report.episodes_per_task = options.episodes_per_task;
  report.seed = options.seed;
  report.image_size = options.image_size;
  size_t e = 0;
  for (const Task* task : tasks) {
    TaskOutcome outcome{task->suite, task->name, 0, options.episodes_per_task, 0.0, task->instruction, ""};
    for (int k = 0; k < options.episodes_per_task; ++k, ++e) {
      outcome.successes += envs[e]->success();
      outcome.outcomes.push_back(envs[e]->success() ? '1' : '0');
      outcome.mean_steps += envs[e]->steps() / static_cast<double>(options.episodes_per_task);
    }
    report.tasks.push_back(outcome);
  }
  Summarize(&report);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace vlarft::tabletop
