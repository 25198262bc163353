// VersionEvaluator over the real benchmark with a tiny policy and an in-process weight source: the
// baseline first, then each version it is handed (with the version's tensors really in the policy),
// nothing when no version arrives, and a version that does not fit the policy is refused without
// touching it.
#include "libs/evaluation/version_evaluator.h"

#include <atomic>
#include <deque>

#include "gtest/gtest.h"
#include "tests/evaluation/benchmark_policy.h"

namespace vlarft::evaluation {
namespace {

PolicyEvalSettings SmallSettings() {
  PolicyEvalSettings settings;
  settings.suites = {"goal"};
  settings.episodes_per_task = 1;
  settings.seed = 5;
  settings.threads = 1;
  return settings;
}

// Hands out queued answers and records what it was asked for.
struct FakeSource {
  std::deque<absl::StatusOr<std::optional<PolicyVersion>>> answers;
  std::vector<int64_t> asked;
  VersionEvaluator::WeightSource AsSource() {
    return [this](int64_t min_version, absl::Duration) -> absl::StatusOr<std::optional<PolicyVersion>> {
      asked.push_back(min_version);
      if (answers.empty()) return std::nullopt;
      auto answer = std::move(answers.front());
      answers.pop_front();
      return answer;
    };
  }
};

std::map<std::string, torch::Tensor> TrainableTensors(models::VlaPolicy& policy, double add) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : policy->named_parameters()) {
    if (item.value().requires_grad()) out[item.key()] = item.value().detach().clone() + add;
  }
  return out;
}

class VersionEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(3);
    policy_ = testing::MakeBenchmarkPolicy();
    models::testing::Randomize(*policy_, 0.2);
  }
  models::VlaPolicy policy_{nullptr};
  FakeSource source_;
  std::vector<VersionEvaluator::Result> seen_;
  VersionEvaluator::ResultSink Sink() {
    return [this](const VersionEvaluator::Result& r) { seen_.push_back(r); };
  }
};

TEST_F(VersionEvaluatorTest, BaselineThenEachVersionItIsHanded) {
  VersionEvaluator evaluator(policy_, SmallSettings(), source_.AsSource(), Sink());
  auto baseline = evaluator.EvaluateBaseline();
  ASSERT_TRUE(baseline.ok()) << baseline.status();
  EXPECT_EQ(baseline->version, -1);
  ASSERT_EQ(baseline->report.suites.size(), 1u);
  EXPECT_EQ(baseline->report.suites[0].name, "goal");
  EXPECT_EQ(baseline->report.suites[0].episodes, 10);  // 10 goal tasks x 1 episode

  // No version yet: nothing is evaluated.
  auto none = evaluator.EvaluateNext(absl::Milliseconds(1));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(seen_.size(), 1u);

  const std::map<std::string, torch::Tensor> tensors = TrainableTensors(policy_, 0.05);
  ASSERT_FALSE(tensors.empty());
  source_.answers.push_back(std::optional<PolicyVersion>(PolicyVersion{3, tensors}));
  auto third = evaluator.EvaluateNext(absl::Milliseconds(1));
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_TRUE(third->has_value());
  EXPECT_EQ((*third)->version, 3);
  EXPECT_EQ(evaluator.last_version(), 3);
  EXPECT_EQ(seen_.size(), 2u);
  // The version's tensors are what the policy now runs with.
  const auto params = policy_->named_parameters();
  for (const auto& [name, tensor] : tensors) EXPECT_TRUE(torch::equal(*params.find(name), tensor)) << name;
  // It asked for anything after the baseline first, then for versions after 3.
  EXPECT_EQ(source_.asked, (std::vector<int64_t>{0, 0}));
  ASSERT_TRUE(evaluator.EvaluateNext(absl::Milliseconds(1)).ok());
  EXPECT_EQ(source_.asked.back(), 4);
}

TEST_F(VersionEvaluatorTest, AStrideAsksForTheNextMultiple) {
  VersionEvaluator evaluator(policy_, SmallSettings(), source_.AsSource(), Sink(), /*version_stride=*/25);
  source_.answers.push_back(std::optional<PolicyVersion>(PolicyVersion{0, TrainableTensors(policy_, 0.0)}));
  source_.answers.push_back(std::optional<PolicyVersion>(PolicyVersion{27, TrainableTensors(policy_, 0.01)}));
  ASSERT_TRUE(evaluator.EvaluateNext(absl::Milliseconds(1)).ok());
  ASSERT_TRUE(evaluator.EvaluateNext(absl::Milliseconds(1)).ok());  // the first version at or past 25
  EXPECT_EQ(evaluator.last_version(), 27);
  ASSERT_TRUE(evaluator.EvaluateNext(absl::Milliseconds(1)).ok());
  EXPECT_EQ(source_.asked, (std::vector<int64_t>{0, 25, 50}));
  EXPECT_EQ(seen_.size(), 2u);
}

TEST_F(VersionEvaluatorTest, SameSettingsFaceTheSameEpisodes) {
  VersionEvaluator evaluator(policy_, SmallSettings(), source_.AsSource(), Sink());
  auto first = evaluator.EvaluateBaseline();
  auto second = evaluator.EvaluateBaseline();
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(first->report.tasks.size(), second->report.tasks.size());
  for (size_t i = 0; i < first->report.tasks.size(); ++i) {
    EXPECT_EQ(first->report.tasks[i].outcomes, second->report.tasks[i].outcomes) << first->report.tasks[i].task;
    EXPECT_EQ(first->report.tasks[i].mean_steps, second->report.tasks[i].mean_steps) << first->report.tasks[i].task;
  }
}

TEST_F(VersionEvaluatorTest, AVersionThatDoesNotFitIsRefusedAndChangesNothing) {
  VersionEvaluator evaluator(policy_, SmallSettings(), source_.AsSource(), Sink());
  const std::map<std::string, torch::Tensor> before = TrainableTensors(policy_, 0.0);
  std::map<std::string, torch::Tensor> wrong = TrainableTensors(policy_, 1.0);
  wrong.begin()->second = torch::zeros({3, 3});
  source_.answers.push_back(std::optional<PolicyVersion>(PolicyVersion{7, wrong}));
  auto round = evaluator.EvaluateNext(absl::Milliseconds(1));
  ASSERT_FALSE(round.ok());
  EXPECT_EQ(round.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(round.status().message().find("has shape"), std::string::npos) << round.status();
  EXPECT_EQ(evaluator.last_version(), -1);
  EXPECT_TRUE(seen_.empty());
  const auto params = policy_->named_parameters();
  for (const auto& [name, tensor] : before) EXPECT_TRUE(torch::equal(*params.find(name), tensor)) << name;
}

TEST_F(VersionEvaluatorTest, RunOutlivesAFailedRoundAndStopsOnRequest) {
  std::atomic<bool> stop{false};
  VersionEvaluator evaluator(policy_, SmallSettings(), source_.AsSource(), [&](const VersionEvaluator::Result& r) {
    seen_.push_back(r);
    if (r.version == 1) stop = true;  // the test is done once version 1 was evaluated
  });
  source_.answers.push_back(absl::UnavailableError("learner restarting"));
  source_.answers.push_back(std::optional<PolicyVersion>(PolicyVersion{1, TrainableTensors(policy_, 0.01)}));
  std::vector<std::string> errors;
  const absl::Status status = evaluator.Run(stop, absl::Milliseconds(1), absl::Milliseconds(1),
                                            [&](const absl::Status& e) { errors.push_back(std::string(e.message())); });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(errors, (std::vector<std::string>{"learner restarting"}));
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].version, -1);
  EXPECT_EQ(seen_[1].version, 1);
}

}  // namespace
}  // namespace vlarft::evaluation
