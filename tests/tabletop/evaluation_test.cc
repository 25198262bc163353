#include "libs/tabletop/evaluation.h"
#include "libs/tabletop/policies.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace vlarft::tabletop {
namespace {
using ::testing::HasSubstr;

TEST(WilsonTest, MatchesKnownValues) {
  const Interval i = Wilson(45, 50);  // p = 0.9
  EXPECT_DOUBLE_EQ(i.rate, 0.9);
  EXPECT_NEAR(i.low, 0.7864, 1e-4);
  EXPECT_NEAR(i.high, 0.9565, 1e-4);
  EXPECT_NEAR(Wilson(0, 10).high, 0.2775, 1e-4);
  EXPECT_EQ(Wilson(0, 10).low, 0.0);
  EXPECT_NEAR(Wilson(50, 50).low, 0.9287, 1e-4);
  EXPECT_EQ(Wilson(50, 50).high, 1.0);
  EXPECT_EQ(Wilson(0, 0).rate, 0);
}

EvalOptions SmallOptions() {
  EvalOptions options;
  options.suites = {"goal", "long"};
  options.episodes_per_task = 3;
  options.image_size = 32;
  return options;
}

TEST(EvaluationTest, ExpertNearPerfectRandomNearZero) {
  const EvalOptions options = SmallOptions();
  std::vector<const TabletopEnv*> envs;
  auto expert = MakeExpertPolicy(&envs);
  auto report = Evaluate(*expert, options, &envs);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->suites.size(), 2u);
  EXPECT_EQ(report->suites[0].name, "goal");
  EXPECT_EQ(report->suites[0].episodes, 30);
  EXPECT_GE(report->average.rate, 0.95);
  ASSERT_EQ(report->tasks.size(), 20u);
  for (const TaskOutcome& t : report->tasks) EXPECT_LE(t.mean_steps, t.suite == "long" ? 120 : 60);
  auto random = MakeRandomPolicy(1);
  auto random_report = Evaluate(*random, options);
  ASSERT_TRUE(random_report.ok());
  EXPECT_LE(random_report->average.rate, 0.1);
  // The expert can be reused: a second evaluation starts every episode with a fresh expert.
  auto again = Evaluate(*expert, options, &envs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->average.rate, report->average.rate);
}

TEST(EvaluationTest, ReportsProgressAfterEveryDecision) {
  EvalOptions options = SmallOptions();
  std::vector<EpisodeProgress> seen;
  options.progress = [&seen](const EpisodeProgress& at) { seen.push_back(at); };
  auto random = MakeRandomPolicy(2);
  ASSERT_TRUE(Evaluate(*random, options).ok());
  ASSERT_FALSE(seen.empty());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].decisions, static_cast<int>(i) + 1);
    EXPECT_EQ(seen[i].episodes, 60);
    EXPECT_LE(seen[i].decisions, seen[i].max_decisions);
    if (i > 0) {
      EXPECT_GE(seen[i].finished, seen[i - 1].finished);
    }
  }
  // The last report is the end: every episode finished, within the bound.
  EXPECT_EQ(seen.back().finished, 60);
}

TEST(EvaluationTest, ResultsDependOnSeedsNotThreads) {
  EvalOptions options = SmallOptions();
  options.suites = {"object"};
  std::vector<const TabletopEnv*> envs;
  auto noisy = MakeExpertPolicy(&envs, {0.6, 0.2});
  std::vector<std::vector<int>> outcomes;
  for (int threads : {1, 3}) {
    options.threads = threads;
    auto report = Evaluate(*noisy, options, &envs);
    ASSERT_TRUE(report.ok());
    std::vector<int> successes;
    for (const TaskOutcome& t : report->tasks) successes.push_back(t.successes * 1000 + static_cast<int>(t.mean_steps));
    outcomes.push_back(successes);
  }
  EXPECT_EQ(outcomes[0], outcomes[1]);
}

// Records what it is shown and answers with fixed chunks.
class ProbePolicy : public Policy {
 public:
  explicit ProbePolicy(ActionChunk chunk) : chunk_(std::move(chunk)) {}
  std::string name() const override { return "probe"; }
  absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) override {
    ++calls;
    for (const Observation& o : observations) steps_seen.push_back(o.step), last = o;
    if (fail) return absl::UnavailableError("model server down");
    return std::vector<ActionChunk>(observations.size() - (wrong_count ? 1 : 0), chunk_);
  }
  int calls = 0;
  bool fail = false, wrong_count = false;
  std::vector<int> steps_seen;
  Observation last;

 private:
  ActionChunk chunk_;
};

TEST(EvaluationTest, ChunksRunOpenLoopAndAreTruncated) {
  EvalOptions options = SmallOptions();
  options.suites = {"spatial"};
  options.episodes_per_task = 1;
  options.chunk_length = 5;
  ProbePolicy policy(ActionChunk(12, Action{0, 0, 0, 0, 0, 0, -1}));  // idles: never succeeds
  auto report = Evaluate(policy, options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->average.rate, 0.0);
  EXPECT_EQ(policy.calls, 80 / 5);  // max_steps / executed chunk length
  for (int step : policy.steps_seen) EXPECT_EQ(step % 5, 0);
  EXPECT_EQ(policy.last.size, 32);
  EXPECT_EQ(policy.last.frame.size(), 32u * 32 * 3);
  EXPECT_EQ(policy.last.instruction, AllTasks()[policy.last.task_index].instruction);
  EXPECT_EQ(report->tasks[0].mean_steps, 80);
}

TEST(EvaluationTest, PolicyErrorsAndBadOptionsAreReported) {
  EvalOptions options = SmallOptions();
  ProbePolicy failing(ActionChunk(1));
  failing.fail = true;
  auto failed = Evaluate(failing, options);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("probe: model server down"));
  ProbePolicy short_answer(ActionChunk(1));
  short_answer.wrong_count = true;
  EXPECT_EQ(Evaluate(short_answer, options).status().code(), absl::StatusCode::kInternal);
  options.suites = {"kitchen"};
  EXPECT_EQ(Evaluate(failing, options).status().code(), absl::StatusCode::kInvalidArgument);
  options = SmallOptions();
  options.episodes_per_task = 0;
  EXPECT_EQ(Evaluate(failing, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReportTest, TablesAndJsonCarryTheNumbers) {
  EvalReport base{"base", "none", 50, 0, 64, {}, {}, {}, 0, ""};
  base.tasks = {{"spatial", "a", 45, 50, 40, "do a", ""}, {"spatial", "b", 40, 50, 41, "do b", ""}, {"goal", "c", 50, 50, 30, "do c", ""}};
  Summarize(&base);
  ASSERT_EQ(base.suites.size(), 2u);
  EXPECT_EQ(base.suites[0].name, "spatial");
  EXPECT_DOUBLE_EQ(base.suites[0].success.rate, 0.85);
  EXPECT_DOUBLE_EQ(base.average.rate, (0.85 + 1.0) / 2);  // mean of suites, as the paper averages
  EXPECT_NEAR(base.average.low, Wilson(135, 150).low, 1e-12);
  EvalReport rft = base;
  rft.policy = "rft";
  rft.tasks[1].successes = 48;
  Summarize(&rft);
  const std::string md = ReportMarkdown({base, rft});
  EXPECT_THAT(md, HasSubstr("| spatial | 85.0 ["));
  EXPECT_THAT(md, HasSubstr("| 93.0 ["));
  EXPECT_THAT(md, HasSubstr("**average**"));
  EXPECT_EQ(md.find("| object |"), std::string::npos) << "suites nobody ran are left out";
  const nlohmann::json j = nlohmann::json::parse(ReportJson(rft));
  EXPECT_EQ(j["suites"]["spatial"]["successes"], 93);
  EXPECT_EQ(j["tasks"][1]["success"], 0.96);
  EXPECT_EQ(j["episodes_per_task"], 50);
  EXPECT_EQ(j["tasks"][2]["instruction"], "do c");
  EXPECT_EQ(j["average"]["ci95"].size(), 2u);

  EvalReport perturbed = base;
  perturbed.perturbation = "object_position:major";
  const std::string table = PerturbationMarkdown({base, perturbed, rft});
  EXPECT_THAT(table, HasSubstr("| policy | none | object_position:major |"));
  EXPECT_THAT(table, HasSubstr("| rft | 96.5 ["));
  EXPECT_THAT(table, HasSubstr(" - |"));  // rft was not run perturbed
  EXPECT_THAT(TaskMarkdown({base, rft}), HasSubstr("| spatial | b | 40/50 | 48/50 |"));

  const std::string dir = ::testing::TempDir() + "/vlarft_report_test";
  ASSERT_TRUE(WriteReports(dir, "eval", {base, perturbed}).ok());
  std::ifstream markdown(dir + "/eval.md");
  const std::string written((std::istreambuf_iterator<char>(markdown)), std::istreambuf_iterator<char>());
  EXPECT_THAT(written, HasSubstr("under perturbations"));
  std::ifstream json_file(dir + "/eval.json");
  EXPECT_EQ(nlohmann::json::parse(json_file).size(), 2u);
}

}  // namespace
}  // namespace vlarft::tabletop
