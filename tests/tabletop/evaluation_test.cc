#include "libs/tabletop/evaluation.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace vlarft::tabletop {
namespace {

TEST(EvaluationTest, WilsonIntervalMatchesKnownValues) {
  const Interval i = Wilson(45, 50);  // p = 0.9
  EXPECT_DOUBLE_EQ(i.rate, 0.9);
  EXPECT_NEAR(i.low, 0.7864, 1e-3);
  EXPECT_NEAR(i.high, 0.9565, 1e-3);
  EXPECT_NEAR(Wilson(0, 10).high, 0.2775, 1e-3);
  EXPECT_EQ(Wilson(0, 0).rate, 0);
}

TEST(EvaluationTest, ExpertNearPerfectRandomNearZero) {
  EvalOptions options;
  options.suites = {"goal", "long"};
  options.episodes_per_task = 3;
  options.image_size = 32;
  std::vector<const TabletopEnv*> envs;
  auto expert = MakeExpertPolicy(&envs);
  auto report = Evaluate(*expert, options, &envs);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->suites.size(), 2u);
  EXPECT_GE(report->average.rate, 0.95);
  auto random = MakeRandomPolicy(1);
  auto random_report = Evaluate(*random, options);
  ASSERT_TRUE(random_report.ok());
  EXPECT_LE(random_report->average.rate, 0.1);
  const std::string md = ReportMarkdown({*report, *random_report});
  EXPECT_NE(md.find("| goal |"), std::string::npos);
  EXPECT_NE(md.find("scripted-expert"), std::string::npos);
  auto json = nlohmann::json::parse(ReportJson(*report));
  EXPECT_EQ(json["suites"]["goal"]["episodes"], 30);
  EvalOptions bad = options;
  bad.suites = {"kitchen"};
  EXPECT_FALSE(Evaluate(*random, bad).ok());
}

}  // namespace
}  // namespace vlarft::tabletop
