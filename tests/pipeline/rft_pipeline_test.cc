// `vlarft rft` end to end (docs/operations.md, "Run on one machine"): the launcher starts the simulator, the reward
// verifier, two learner ranks and two rollout workers on loopback; they train a few GRPO steps on
// tiny models made by the fixture, evaluate base vs RFT and stop. Checked: clean exits and no
// leftover process; a SIGKILLed rollout worker and a SIGKILLed simulator are survived (restart,
// client retries) without touching the learner; the learner's /metrics series move during the run.
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/pipeline/rft_run.h"
#include "tests/testing/child_process.h"

namespace vlarft::pipeline_testing {
namespace {
namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const std::vector<std::string> kServices = {"simulator", "reward",    "learner-rank0", "learner-rank1",
                                            "rollout-0", "rollout-1", "evaluator"};

class RftPipelineTest : public ::testing::Test {
 protected:
  // One set of tiny inputs for every test of the process (a few seconds of CPU).
  static void SetUpTestSuite() {
    dir_ = new std::string(vlarft::testing::MakeTempDir("rft_pipeline"));
    absl::StatusOr<TinyInputs> inputs = MakeTinyInputs(*dir_);
    if (inputs.ok()) {
      inputs_ = new TinyInputs(*inputs);
    } else {
      setup_error_ = new std::string(inputs.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (::testing::UnitTest::GetInstance()->Passed()) fs::remove_all(*dir_, ec);  // keep logs of failures
    delete inputs_;
    delete setup_error_;
    delete dir_;
    inputs_ = nullptr;
    setup_error_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  }

  std::unique_ptr<RftRun> Launch(const std::string& name, int64_t max_steps, std::vector<std::string> overrides = {}) {
    overrides.push_back(absl::StrCat("learner.max_steps=", max_steps));
    absl::StatusOr<std::unique_ptr<RftRun>> run = RftRun::Start(*inputs_, *dir_ + "/" + name, overrides);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? std::move(*run) : nullptr;
  }

  // The launcher exits 0 within a bound; the results record `max_steps` steps and a clean exit of
  // every service's last incarnation; no process of the run is left. Returns results.json.
  nlohmann::json ExpectCompleted(RftRun& run, int64_t max_steps) {
    const std::optional<int> code = run.WaitForExit(absl::Seconds(300));
    EXPECT_TRUE(code.has_value()) << "vlarft rft still running after 300 s\n" << run.Diagnostics();
    EXPECT_EQ(code.value_or(-1), 0) << run.Diagnostics();
    EXPECT_TRUE(run.Processes().ok());  // the final manifest: exit codes, last pids
    const std::vector<int> live = run.LivePids(absl::Seconds(10));
    EXPECT_TRUE(live.empty()) << live.size() << " processes of the run are still alive, e.g. pid " << live[0];
    absl::StatusOr<nlohmann::json> results = run.Results();
    EXPECT_TRUE(results.ok()) << results.status() << "\n" << run.Diagnostics();
    if (!results.ok()) return {};
    EXPECT_EQ((*results)["steps"], max_steps);
    EXPECT_TRUE((*results)["base"].is_object() && (*results)["rft"].is_object());
    std::set<std::string> names;
    for (const nlohmann::json& p : (*results)["processes"]) {
      names.insert(p["name"].get<std::string>());
      EXPECT_EQ(p["exit_code"], 0) << p.dump() << "\n" << run.Diagnostics();
    }
    EXPECT_EQ(names, std::set<std::string>(kServices.begin(), kServices.end()));
    EXPECT_TRUE(fs::exists(run.out_dir() + "/results.md"));
    EXPECT_TRUE(fs::exists(run.out_dir() + "/reward_curve.png"));
    EXPECT_TRUE(fs::exists(absl::StrCat(run.out_dir(), "/learner/step-", max_steps, "/model.safetensors")));
    return *results;
  }

  static int Restarts(const nlohmann::json& results, const std::string& name) {
    for (const nlohmann::json& p : results["processes"]) {
      if (p["name"] == name) return p["restarts"].get<int>();
    }
    return -1;
  }

  static std::string* dir_;
  static TinyInputs* inputs_;
  static std::string* setup_error_;
};

std::string* RftPipelineTest::dir_ = nullptr;
TinyInputs* RftPipelineTest::inputs_ = nullptr;
std::string* RftPipelineTest::setup_error_ = nullptr;

TEST_F(RftPipelineTest, AllProcessesStartTrainAndStopCleanly) {
  // A training seed other than the default: every worker must run with its own seed derived from it.
  std::unique_ptr<RftRun> run = Launch("clean", 4, {"rft.perturbation_episodes_per_task=1", "rollout.seed=7"});
  ASSERT_NE(run, nullptr);
  std::map<std::string, int> metrics_ports;
  std::map<int, std::string> owner_of_port;  // every gRPC and metrics port, to check none is shared
  for (const std::string& name : kServices) {
    absl::StatusOr<ServiceState> service = run->WaitForService(name, 0, absl::Seconds(120));
    ASSERT_TRUE(service.ok()) << service.status() << "\n" << run->Diagnostics();
    const std::string ready = ReadText(service->ready_file);
    metrics_ports[name] = core::ReadJsonInt(ready, "metrics_port").value_or(-1);
    for (const char* key : {"port", "metrics_port"}) {
      const int port = core::ReadJsonInt(ready, key).value_or(-1);
      EXPECT_GT(port, 0) << name << " " << key << " in " << ready;
      const auto [it, fresh] = owner_of_port.emplace(port, absl::StrCat(name, " ", key));
      EXPECT_TRUE(fresh) << name << " " << key << " " << port << " is also " << it->second;
    }
  }
  // The local Prometheus files: one labelled target per process, at the port it serves /metrics on.
  // (written once every service is up, atomically)
  const absl::StatusOr<std::string> targets_text =
      core::WaitForFile(run->out_dir() + "/prometheus_targets.json", absl::Seconds(60));
  ASSERT_TRUE(targets_text.ok()) << targets_text.status() << "\n" << run->Diagnostics();
  const nlohmann::json targets = nlohmann::json::parse(*targets_text, nullptr, false);
  ASSERT_TRUE(targets.is_array() && targets.size() == kServices.size()) << targets.dump();
  std::map<std::string, std::string> target_by_name;
  for (const nlohmann::json& t : targets) {
    const nlohmann::json& labels = t["labels"];
    const std::string component = labels["component"];
    const std::string name = component == "learner"   ? "learner-rank" + labels["rank"].get<std::string>()
                             : component == "rollout" ? "rollout-" + labels["worker"].get<std::string>()
                                                      : component;
    target_by_name[name] = t["targets"][0];
  }
  for (const std::string& name : kServices) {
    EXPECT_EQ(target_by_name[name], absl::StrCat("127.0.0.1:", metrics_ports[name])) << name;
  }
  const std::string prometheus = ReadText(run->out_dir() + "/prometheus.yml");
  EXPECT_NE(prometheus.find(run->out_dir() + "/prometheus_targets.json"), std::string::npos) << prometheus;
  EXPECT_EQ(prometheus.find("@TARGETS_FILE@"), std::string::npos) << prometheus;
  const nlohmann::json results = ExpectCompleted(*run, 4);
  EXPECT_EQ(results["restarts"], 0) << run->Diagnostics();
  ASSERT_FALSE(results["curve"].empty());
  EXPECT_EQ(results["curve"].back()[0], 4) << results["curve"].dump();
  // The success probe evaluated learner checkpoints up to the final one; the progress line showed it.
  ASSERT_TRUE(results["success_probes"].is_array() && !results["success_probes"].empty()) << results.dump();
  EXPECT_EQ(results["success_probes"].back()["step"], 4) << results["success_probes"].dump();
  for (const nlohmann::json& p : results["success_probes"]) {
    EXPECT_TRUE(p["low"].get<double>() <= p["rate"].get<double>() && p["rate"].get<double>() <= p["high"].get<double>())
        << p.dump();
  }
  EXPECT_TRUE(fs::exists(run->out_dir() + "/success_curve.png"));
  EXPECT_NE(ReadText(run->out_dir() + "/launcher.log").find("success~ "), std::string::npos);
  // The paired comparison of base and RFT on the same episodes: consistent with the two rates.
  const nlohmann::json& paired = results["paired"];
  ASSERT_TRUE(paired.is_object()) << results.dump();
  EXPECT_NEAR(paired["difference"].get<double>(),
              results["rft"]["average"]["success"].get<double>() - results["base"]["average"]["success"].get<double>(),
              1e-9);
  EXPECT_LE(paired["ci95"][0].get<double>(), paired["difference"].get<double>());
  EXPECT_GE(paired["ci95"][1].get<double>(), paired["difference"].get<double>());
  EXPECT_EQ(paired["suites"].size(), results["base"]["suites"].size());
  EXPECT_NE(ReadText(run->out_dir() + "/results.md").find("McNemar p"), std::string::npos);
  // The perturbation table: base and RFT under each of the 8 perturbations.
  ASSERT_TRUE(results["perturbations"].is_array()) << results.dump();
  EXPECT_EQ(results["perturbations"].size(), 16u);
  EXPECT_NE(ReadText(run->out_dir() + "/results.md").find("object_position:major"), std::string::npos);
  // Every worker took part: it applied a policy version the learner trained (>= 1).
  for (const std::string w : {"0", "1"}) {
    const std::string log = ReadText(run->out_dir() + "/logs/rollout-" + w + ".log");
    const std::regex applied("event=weights_applied worker=worker-" + w + " version=([0-9]+)");
    int newest = -1;
    for (auto m = std::sregex_iterator(log.begin(), log.end(), applied); m != std::sregex_iterator(); ++m) {
      newest = std::max(newest, std::stoi((*m)[1].str()));
    }
    EXPECT_GE(newest, 1) << "rollout-" << w << " never applied a trained policy version:\n" << log;
    // rollout.seed = 7 reached the worker as 1000 * 7 + w (its prompts and noise).
    EXPECT_NE(log.find("event=prompts_loaded"), std::string::npos) << log;
    EXPECT_NE(log.find(" seed=700" + w), std::string::npos) << "rollout-" << w << " did not get seed 700" << w << ":\n" << log;
  }
}

// simulator.backend = tabletop: the same four processes do RL against the real benchmark. Workers
// name each prompt's demonstration state, the simulator rebuilds it bit for bit and executes the
// chunks there, and the verifier scores real frames against the expert's real frames.
TEST_F(RftPipelineTest, RealSimulatorBackendRunsTheSamePipeline) {
  constexpr int64_t kSteps = 2;
  std::unique_ptr<RftRun> run = Launch("tabletop_backend", kSteps, {"simulator.backend=tabletop"});
  ASSERT_NE(run, nullptr);
  const nlohmann::json results = ExpectCompleted(*run, kSteps);
  ASSERT_TRUE(results.contains("curve")) << results.dump();
  // Real frames of different chunks differ from the expert's: the rewards are below the maximum 0.
  for (const nlohmann::json& point : results["curve"]) EXPECT_LT(point[1].get<double>(), 0.0) << results.dump();
  absl::StatusOr<std::map<std::string, ServiceState>> processes = run->Processes();
  ASSERT_TRUE(processes.ok()) << processes.status();
  const std::string log = ReadText(processes->at("simulator").log);
  EXPECT_NE(log.find("fingerprint=tabletop:"), std::string::npos) << log.substr(0, 2000);
}

TEST_F(RftPipelineTest, KilledRolloutWorkerIsRestartedAndTheRunCompletes) {
  constexpr int64_t kSteps = 6;
  std::unique_ptr<RftRun> run = Launch("kill_worker", kSteps);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->WaitForLearnerStep(2, absl::Seconds(180)).ok()) << run->Diagnostics();
  absl::StatusOr<std::map<std::string, ServiceState>> before = run->Processes();
  ASSERT_TRUE(before.ok()) << before.status();
  const int victim = before->at("rollout-0").pid;
  ASSERT_EQ(kill(victim, SIGKILL), 0);

  absl::StatusOr<ServiceState> restarted = run->WaitForService("rollout-0", 1, absl::Seconds(60));
  ASSERT_TRUE(restarted.ok()) << restarted.status() << "\n" << run->Diagnostics();
  EXPECT_NE(restarted->pid, victim);
  const nlohmann::json results = ExpectCompleted(*run, kSteps);
  EXPECT_EQ(Restarts(results, "rollout-0"), 1) << results.dump();
  // The learner and the other processes never went down.
  for (const char* name : {"learner-rank0", "learner-rank1", "simulator", "reward", "rollout-1"}) {
    EXPECT_EQ(Restarts(results, name), 0) << name << "\n" << run->Diagnostics();
  }
}

// The hostile-client review's rollback: a learner killed before its first checkpoint restarts from
// step 0, while the workers hold newer weights. The learner refuses their groups (versions from its
// future), so without a resync the run would starve; the workers take the learner's version again.
TEST_F(RftPipelineTest, WorkersResyncWhenARestartedLearnerRollsBack) {
  constexpr int64_t kSteps = 6;
  std::unique_ptr<RftRun> run = Launch("learner_rollback", kSteps, {"learner.checkpoint_every=100"});
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->WaitForLearnerStep(3, absl::Seconds(180)).ok()) << run->Diagnostics();
  absl::StatusOr<std::map<std::string, ServiceState>> before = run->Processes();
  ASSERT_TRUE(before.ok()) << before.status();
  const int victim = before->at("learner-rank0").pid;
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const nlohmann::json results = ExpectCompleted(*run, kSteps);
  EXPECT_GE(Restarts(results, "learner-rank0"), 1) << results.dump();
  for (const char* name : {"simulator", "reward", "rollout-0", "rollout-1"}) {
    EXPECT_EQ(Restarts(results, name), 0) << name << "\n" << run->Diagnostics();
  }
  const std::string worker_logs =
      ReadText(run->out_dir() + "/logs/rollout-0.log") + ReadText(run->out_dir() + "/logs/rollout-1.log");
  EXPECT_NE(worker_logs.find("event=learner_rolled_back"), std::string::npos) << run->Diagnostics();
  // The rollback is reported, not silent: a warning up front, the lost steps in the results, and a
  // curve without the redone steps twice.
  EXPECT_NE(run->LauncherOutput().find("warning: learner.checkpoint_every = 100"), std::string::npos)
      << run->Diagnostics();
  // Killed at step >= 3 with no checkpoint since step 0; the launcher counts what its status polls
  // saw (every 0.5 s, while these test steps take less), so at least 1.
  EXPECT_GE(results.value("lost_steps", 0), 1) << results.dump();
  EXPECT_NE(run->LauncherOutput().find("steps lost"), std::string::npos) << run->Diagnostics();
  int64_t previous = 0;
  for (const nlohmann::json& point : results["curve"]) {
    EXPECT_GT(point[0].get<int64_t>(), previous) << results["curve"].dump();
    previous = point[0].get<int64_t>();
  }
}

TEST_F(RftPipelineTest, KilledSimulatorIsRestartedAndWorkersReconnect) {
  constexpr int64_t kSteps = 6;
  std::unique_ptr<RftRun> run = Launch("kill_simulator", kSteps);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->WaitForLearnerStep(2, absl::Seconds(180)).ok()) << run->Diagnostics();
  absl::StatusOr<std::map<std::string, ServiceState>> before = run->Processes();
  ASSERT_TRUE(before.ok()) << before.status();
  const int victim = before->at("simulator").pid;
  ASSERT_EQ(kill(victim, SIGKILL), 0);

  absl::StatusOr<ServiceState> restarted = run->WaitForService("simulator", 1, absl::Seconds(60));
  ASSERT_TRUE(restarted.ok()) << restarted.status() << "\n" << run->Diagnostics();
  EXPECT_NE(restarted->pid, victim);
  // The workers' retries reach the new incarnation: it imagines frames (its counters start at 0).
  double frames = 0;
  for (int i = 0; i < 600 && frames == 0 && run->running(); ++i) {
    absl::StatusOr<std::vector<metrics::Sample>> samples = run->Scrape("simulator");
    if (samples.ok()) frames = metrics::FindSample(*samples, "vlarft_simulator_frames_total").value_or(0);
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(frames, 0) << "the restarted simulator imagined nothing\n" << run->Diagnostics();
  const nlohmann::json results = ExpectCompleted(*run, kSteps);
  EXPECT_EQ(Restarts(results, "simulator"), 1) << results.dump();
  // Workers retried instead of dying; the learner never noticed.
  for (const char* name : {"learner-rank0", "learner-rank1", "reward", "rollout-0", "rollout-1"}) {
    EXPECT_EQ(Restarts(results, name), 0) << name << "\n" << run->Diagnostics();
  }
}

TEST_F(RftPipelineTest, LearnerMetricsShowRewardAndPolicyVersionMoving) {
  constexpr int64_t kSteps = 6;
  std::unique_ptr<RftRun> run = Launch("metrics", kSteps);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->WaitForService("learner-rank0", 0, absl::Seconds(120)).ok()) << run->Diagnostics();
  std::vector<double> versions, rewards, trained;
  while (run->running()) {
    absl::StatusOr<std::vector<metrics::Sample>> samples = run->Scrape("learner-rank0");
    if (samples.ok()) {
      const std::optional<double> version = metrics::FindSample(*samples, "vlarft_learner_policy_version");
      const std::optional<double> reward = metrics::FindSample(*samples, "vlarft_learner_reward_mean");
      const std::optional<double> groups = metrics::FindSample(*samples, "vlarft_learner_groups_trained_total");
      ASSERT_TRUE(version && reward && groups) << "learner metrics lack the reward / version series";
      versions.push_back(*version);
      rewards.push_back(*reward);
      trained.push_back(*groups);
    }
    absl::SleepFor(absl::Milliseconds(150));
  }
  const nlohmann::json results = ExpectCompleted(*run, kSteps);
  ASSERT_GE(versions.size(), 3u) << run->Diagnostics();

  // Policy version: published on start (0), one more per optimiser step, never backwards.
  std::set<double> distinct_versions(versions.begin(), versions.end());
  EXPECT_GE(distinct_versions.size(), 3u) << "scraped versions never moved during the run";
  for (size_t i = 1; i < versions.size(); ++i) EXPECT_GE(versions[i], versions[i - 1]);
  EXPECT_EQ(versions.back(), kSteps);
  EXPECT_EQ(trained.back(), 2 * kSteps);  // learner.prompts_per_step = 2

  // Reward mean: -(L1 + perceptual) of imagined vs expert frames, so finite, negative once trained,
  // and different from step to step (new prompts, new samples).
  std::set<double> distinct_rewards;
  for (double r : rewards) {
    EXPECT_TRUE(std::isfinite(r));
    EXPECT_LE(r, 0.0);
    if (r != 0.0) distinct_rewards.insert(r);
  }
  EXPECT_GE(distinct_rewards.size(), 2u) << "scraped reward means never moved during the run";
  // The launcher's curve (from GetStatus) and the gauge agree on the last step.
  ASSERT_FALSE(results["curve"].empty());
  EXPECT_NEAR(results["curve"].back()[1].get<double>(), rewards.back(), 1e-6);
}

}  // namespace
}  // namespace vlarft::pipeline_testing
