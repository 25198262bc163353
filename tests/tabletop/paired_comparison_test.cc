#include "libs/tabletop/paired_comparison.h"

#include <algorithm>
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::tabletop {
namespace {
using ::testing::HasSubstr;

TaskOutcome Task(const std::string& suite, const std::string& name, const std::string& outcomes) {
  const int successes = static_cast<int>(std::count(outcomes.begin(), outcomes.end(), '1'));
  return {suite, name, successes, static_cast<int>(outcomes.size()), 40.0, "do " + name, outcomes};
}

EvalReport Report(const std::string& policy, std::vector<TaskOutcome> tasks) {
  EvalReport r{policy, "none", 10, 7, 64, std::move(tasks), {}, {}, 1.5, ""};
  Summarize(&r);
  return r;
}

// Two spatial tasks and one goal task, 10 episodes each; discordant counts by hand below.
EvalReport Base() {
  return Report("base", {Task("spatial", "a", "1100000000"), Task("spatial", "b", "1000000000"),
                         Task("goal", "c", "1111100000")});
}
EvalReport Tuned() {
  return Report("rft", {Task("spatial", "a", "1011000000"), Task("spatial", "b", "0110000000"),
                        Task("goal", "c", "1111111000")});
}

TEST(McNemarTest, ExactBinomialTail) {
  EXPECT_DOUBLE_EQ(McNemarExactP(0, 0), 1.0);
  EXPECT_NEAR(McNemarExactP(4, 2), 44.0 / 64, 1e-12);  // 2 · (C(6,0)+C(6,1)+C(6,2)) / 2^6
  EXPECT_NEAR(McNemarExactP(2, 4), 44.0 / 64, 1e-12);  // symmetric
  EXPECT_NEAR(McNemarExactP(10, 0), 2.0 / 1024, 1e-15);
  EXPECT_DOUBLE_EQ(McNemarExactP(3, 3), 1.0);          // capped
  EXPECT_GT(McNemarExactP(1000, 1000), 0.9);           // large n stays finite
}

TEST(PairedComparisonTest, MatchesHandComputedValues) {
  const absl::StatusOr<PairedComparison> c = ComparePaired(Base(), Tuned());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->suites.size(), 2u);
  const PairedDifference& spatial = c->suites[0];
  EXPECT_EQ(spatial.name, "spatial");
  EXPECT_EQ(spatial.episodes, 20);
  EXPECT_EQ(spatial.tuned_only, 4);
  EXPECT_EQ(spatial.base_only, 2);
  EXPECT_NEAR(spatial.difference, 0.1, 1e-12);
  // var = (b + c − (b − c)²/n) / n² = (6 − 0.2) / 400
  const double z = 1.959963984540054;
  EXPECT_NEAR(spatial.high - spatial.difference, z * std::sqrt(5.8 / 400), 1e-12);
  EXPECT_NEAR(spatial.p_value, 44.0 / 64, 1e-12);
  const PairedDifference& goal = c->suites[1];
  EXPECT_EQ(goal.tuned_only, 2);
  EXPECT_EQ(goal.base_only, 0);
  EXPECT_NEAR(goal.difference, 0.2, 1e-12);
  EXPECT_NEAR(goal.difference - goal.low, z * std::sqrt(1.6 / 100), 1e-12);
  EXPECT_NEAR(goal.p_value, 0.5, 1e-12);
  // The average is the mean of the suite rates (as the paper averages), so its difference is
  // the mean of the suite differences and its variance (v_spatial + v_goal) / 2².
  EXPECT_NEAR(c->average.difference, 0.15, 1e-12);
  EXPECT_NEAR(c->average.difference, Tuned().average.rate - Base().average.rate, 1e-12);
  EXPECT_NEAR(c->average.high - c->average.difference, z * std::sqrt((5.8 / 400 + 1.6 / 100) / 4), 1e-12);
  EXPECT_EQ(c->average.tuned_only, 6);
  EXPECT_EQ(c->average.base_only, 2);
  EXPECT_NEAR(c->average.p_value, 74.0 / 256, 1e-12);

  const std::string md = PairedMarkdown(*c, "base", "rft");
  EXPECT_THAT(md, HasSubstr("| suite | rft − base, points [paired 95% CI] | episodes only rft solved | only base solved |"));
  EXPECT_THAT(md, HasSubstr("| spatial | +10.0 [-13.6, +33.6] | 4 | 2 | 0.688 |"));
  EXPECT_THAT(md, HasSubstr("| **average** | **+15.0 [-2.1, +32.1]** | 6 | 2 | 0.289 |"));
}

TEST(PairedComparisonTest, IdenticalPoliciesDifferByZero) {
  const absl::StatusOr<PairedComparison> c = ComparePaired(Base(), Base());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->average.difference, 0);
  EXPECT_EQ(c->average.low, 0);
  EXPECT_EQ(c->average.high, 0);
  EXPECT_EQ(c->average.p_value, 1);
}

TEST(PairedComparisonTest, RefusesReportsOfDifferentEpisodes) {
  EvalReport other_seed = Tuned();
  other_seed.seed = 8;
  EXPECT_EQ(ComparePaired(Base(), other_seed).status().code(), absl::StatusCode::kFailedPrecondition);
  EvalReport other_task = Tuned();
  other_task.tasks[2].task = "d";
  EXPECT_THAT(ComparePaired(Base(), other_task).status().message(), HasSubstr("c vs d"));
  EvalReport old = Tuned();
  for (TaskOutcome& t : old.tasks) t.outcomes.clear();
  EXPECT_THAT(ComparePaired(Base(), old).status().message(), HasSubstr("no per-episode outcomes"));
  EvalReport perturbed = Tuned();
  perturbed.perturbation = "robot_init:minor";
  EXPECT_EQ(ComparePaired(Base(), perturbed).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReportJsonTest, RoundTripsWithOutcomes) {
  const absl::StatusOr<std::vector<EvalReport>> parsed = ParseReportsJson(ReportsJson({Base(), Tuned()}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  const EvalReport& r = (*parsed)[1];
  EXPECT_EQ(r.policy, "rft");
  EXPECT_EQ(r.seed, 7u);
  EXPECT_EQ(r.episodes_per_task, 10);
  ASSERT_EQ(r.tasks.size(), 3u);
  EXPECT_EQ(r.tasks[2].outcomes, "1111111000");
  EXPECT_EQ(r.tasks[2].instruction, "do c");
  EXPECT_DOUBLE_EQ(r.average.rate, Tuned().average.rate);
  EXPECT_DOUBLE_EQ(r.average.low, Tuned().average.low);
  // A single report (ReportJson) parses too.
  const absl::StatusOr<std::vector<EvalReport>> single = ParseReportsJson(ReportJson(Base()));
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->size(), 1u);
  EXPECT_TRUE(ComparePaired((*single)[0], (*parsed)[1]).ok());
}

TEST(ReportJsonTest, BadInputNamesTheField) {
  EXPECT_THAT(ParseReportsJson("{not json").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseReportsJson("[{\"policy\": \"x\"}]").status().message(), HasSubstr("reports[0].perturbation is missing"));
  std::string text = ReportJson(Base());
  const std::string bad = text.replace(text.find("1100000000"), 10, "1100000001");
  const absl::Status status = ParseReportsJson(bad).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("report.tasks[0].outcomes"));
  std::string wrong_type = ReportJson(Base());
  wrong_type.replace(wrong_type.find("\"seed\": 7"), 9, "\"seed\": \"x\"");
  EXPECT_THAT(ParseReportsJson(wrong_type).status().message(), HasSubstr("report.seed has the wrong type"));
}

}  // namespace
}  // namespace vlarft::tabletop
