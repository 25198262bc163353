// vlarft-evaluator as a real process against a real vlarft-learner on loopback: it evaluates the
// baseline, then the learner's published version, exports per-suite success on /metrics, appends
// each result to its results file and stops cleanly on SIGTERM; a learner whose policy does not fit
// fails only that round (counted), and the evaluator keeps serving.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libs/metrics/prometheus_text.h"
#include "libs/models/policy.h"
#include "tests/evaluation/benchmark_policy.h"
#include "tests/models/policy_test_util.h"
#include "tests/testing/child_process.h"

namespace vlarft::services {
namespace {

using vlarft::testing::BinaryPath;
using vlarft::testing::ChildProcess;

// A tiny policy the benchmark can evaluate, with the flow head (and sigma net) `flow_dim` wide.
models::VlaPolicy BenchmarkPolicy(int64_t flow_dim) {
  models::PolicyConfig config = models::testing::TinyPolicyConfig();
  config.flow_head.dim = config.sigma_net.dim = flow_dim;
  models::VlaPolicy policy = evaluation::testing::MakeBenchmarkPolicy(config);
  models::testing::Randomize(*policy, 0.1);
  return policy;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n', absl::SkipEmpty())) out.emplace_back(line);
  return out;
}

class EvaluatorProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = vlarft::testing::MakeTempDir("evaluator");
    torch::manual_seed(11);
    models::VlaPolicy policy = BenchmarkPolicy(32);
    models::VlaPolicy other = BenchmarkPolicy(48);  // a different flow-head width
    ASSERT_TRUE(models::SavePolicy(dir_ + "/policy", policy, 0).ok());
    ASSERT_TRUE(models::SavePolicy(dir_ + "/other", other, 0).ok());
  }

  // A learner that publishes version 0 of `policy` and waits for rollouts that never come.
  std::pair<ChildProcess, int> StartLearner(const std::string& policy) {
    const std::vector<std::string> argv = {
        BinaryPath("vlarft-learner"), "--host=127.0.0.1", "--metrics_port=-1", "--shutdown_grace_s=1",
        "--ready_file=" + dir_ + "/learner.ready", "--set", "learner.policy_checkpoint=" + dir_ + "/" + policy,
        "--set", "learner.checkpoint_dir=" + dir_ + "/ckpt", "--set", "learner.prompts_per_step=2",
        "--set", "learner.intake_capacity=4", "--set", "learner.torch_threads=1"};
    auto learner = ChildProcess::Start(argv, dir_ + "/learner.log");
    EXPECT_TRUE(learner.ok());
    auto ready = vlarft::testing::WaitForFile(dir_ + "/learner.ready", absl::Seconds(60));
    EXPECT_TRUE(ready.ok()) << learner->ReadLog();
    return {std::move(*learner), ready.ok() ? *vlarft::testing::ReadJsonInt(*ready, "port") : 0};
  }

  std::pair<ChildProcess, int> StartEvaluator(int learner_port) {
    const std::vector<std::string> argv = {
        BinaryPath("vlarft-evaluator"), "--host=127.0.0.1", "--metrics_host=127.0.0.1", "--shutdown_grace_s=1",
        "--ready_file=" + dir_ + "/evaluator.ready", "--set", "evaluator.policy_checkpoint=" + dir_ + "/policy",
        "--set", "evaluator.suites=[goal]", "--set", "evaluator.episodes_per_task=1",
        "--set", "evaluator.mixed_precision=none", "--set", "evaluator.weight_wait_s=1",
        "--set", "evaluator.results_file=" + dir_ + "/results.jsonl",
        "--set", "evaluator.learner.target=127.0.0.1:" + std::to_string(learner_port)};
    auto evaluator = ChildProcess::Start(argv, dir_ + "/evaluator.log");
    EXPECT_TRUE(evaluator.ok());
    auto ready = vlarft::testing::WaitForFile(dir_ + "/evaluator.ready", absl::Seconds(120));
    EXPECT_TRUE(ready.ok()) << evaluator->ReadLog();
    return {std::move(*evaluator), ready.ok() ? *vlarft::testing::ReadJsonInt(*ready, "metrics_port") : 0};
  }

  std::vector<metrics::Sample> Scrape(int port) {
    auto body = vlarft::testing::HttpGet(port, "/metrics", absl::Seconds(5));
    EXPECT_TRUE(body.ok()) << body.status();
    auto samples = metrics::ParsePrometheusText(body.ok() ? *body : "");
    EXPECT_TRUE(samples.ok());
    return samples.ok() ? *samples : std::vector<metrics::Sample>{};
  }

  std::string dir_;
};

TEST_F(EvaluatorProcessTest, EvaluatesBaselineAndTheLearnersVersionAndExportsSuccess) {
  auto [learner, learner_port] = StartLearner("policy");
  ASSERT_GT(learner_port, 0);
  auto [evaluator, metrics_port] = StartEvaluator(learner_port);
  ASSERT_GT(metrics_port, 0);
  // The baseline ran before serving; version 0 (the learner's initial publish) follows.
  std::vector<std::string> lines;
  for (int i = 0; i < 600 && lines.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    lines = Lines(dir_ + "/results.jsonl");
  }
  ASSERT_GE(lines.size(), 2u) << evaluator.ReadLog();
  EXPECT_EQ(lines[0].rfind("{\"report\":{", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(",\"version\":-1}"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(",\"version\":0}"), std::string::npos) << lines[1];

  const std::vector<metrics::Sample> samples = Scrape(metrics_port);
  for (const char* suite : {"goal", "all"}) {
    const auto success = metrics::FindSample(samples, "vlarft_evaluator_success_ratio", {{"suite", suite}});
    const auto lower = metrics::FindSample(samples, "vlarft_evaluator_success_lower", {{"suite", suite}});
    const auto upper = metrics::FindSample(samples, "vlarft_evaluator_success_upper", {{"suite", suite}});
    const auto base = metrics::FindSample(samples, "vlarft_evaluator_base_success_ratio", {{"suite", suite}});
    ASSERT_TRUE(success && lower && upper && base) << suite;
    EXPECT_LE(*lower, *success);
    EXPECT_LE(*success, *upper);
    EXPECT_GT(*upper, 0.0);  // a Wilson interval over 10 episodes is never [0, 0]
    // Version 0 is the baseline's own weights on the same episodes: the same success.
    EXPECT_DOUBLE_EQ(*success, *base) << suite;
  }
  EXPECT_EQ(metrics::FindSample(samples, "vlarft_evaluator_policy_version"), 0.0);
  EXPECT_GE(metrics::FindSample(samples, "vlarft_evaluator_evaluations_total").value_or(0), 1.0);
  EXPECT_GE(metrics::FindSample(samples, "vlarft_evaluator_episodes_total").value_or(0), 10.0);

  // SIGTERM cancels the pending long-poll: a prompt, clean exit.
  ASSERT_EQ(kill(evaluator.pid(), SIGTERM), 0);
  const std::optional<int> code = evaluator.WaitFor(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << evaluator.ReadLog();
  EXPECT_EQ(*code, 0) << evaluator.ReadLog();
  kill(learner.pid(), SIGTERM);
  learner.WaitFor(absl::Seconds(20));
}

TEST_F(EvaluatorProcessTest, AVersionThatDoesNotFitFailsOnlyThatRound) {
  auto [learner, learner_port] = StartLearner("other");  // a different flow-head width
  ASSERT_GT(learner_port, 0);
  auto [evaluator, metrics_port] = StartEvaluator(learner_port);
  ASSERT_GT(metrics_port, 0);
  std::optional<double> errors;
  for (int i = 0; i < 300 && errors.value_or(0) < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    errors = metrics::FindSample(Scrape(metrics_port), "vlarft_evaluator_errors_total");
  }
  EXPECT_GE(errors.value_or(0), 2.0) << evaluator.ReadLog();
  EXPECT_NE(evaluator.ReadLog().find("has shape"), std::string::npos) << evaluator.ReadLog();
  EXPECT_EQ(Lines(dir_ + "/results.jsonl").size(), 1u);  // the baseline only
  EXPECT_FALSE(evaluator.WaitFor(absl::Milliseconds(10)).has_value()) << "the evaluator died";
  ASSERT_EQ(kill(evaluator.pid(), SIGTERM), 0);
  EXPECT_EQ(evaluator.WaitFor(absl::Seconds(20)), std::optional<int>(0)) << evaluator.ReadLog();
  kill(learner.pid(), SIGTERM);
  learner.WaitFor(absl::Seconds(20));
}

}  // namespace
}  // namespace vlarft::services
