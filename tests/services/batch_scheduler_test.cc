#include "services/common/batch_scheduler.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace vlarft::services {
namespace {

struct Work {
  int value = 0;
};
using Results = std::vector<absl::StatusOr<int>>;

TEST(BatchSchedulerTest, ConcurrentCallersShareBatchesAndGetTheirOwnAnswers) {
  BatchSchedulerOptions options;
  options.max_batch_units = 8;
  options.max_queue_delay_ms = 20;
  std::atomic<int> batches{0};
  std::atomic<int64_t> largest{0};
  BatchScheduler<Work, int> scheduler(
      options,
      [&](const std::vector<const Work*>& requests) -> absl::StatusOr<Results> {
        ++batches;
        Results out;
        for (const Work* w : requests) out.push_back(w->value * 10);
        return out;
      },
      [&](const BatchStats& stats, int64_t) {
        int64_t seen = largest.load();
        while (stats.units > seen && !largest.compare_exchange_weak(seen, stats.units)) {
        }
      });
  std::vector<std::thread> callers;
  std::vector<int> results(16, -1);
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([&, i] {
      Work work{i};
      auto r = scheduler.Submit(work, 2, absl::InfiniteFuture());
      results[i] = r.ok() ? *r : -2;
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(results[i], i * 10);
  EXPECT_LT(batches.load(), 16) << "requests should have been batched together";
  EXPECT_LE(largest.load(), 8);
}

TEST(BatchSchedulerTest, FullQueueIsResourceExhaustedAndOversizeIsInvalid) {
  BatchSchedulerOptions options;
  options.max_batch_units = 4;
  options.max_queued_units = 4;
  options.max_queue_delay_ms = 0;
  std::atomic<bool> release{false};
  BatchScheduler<Work, int> scheduler(options, [&](const std::vector<const Work*>& r) -> absl::StatusOr<Results> {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Results(r.size(), 1);
  });
  Work work;
  EXPECT_EQ(scheduler.Submit(work, 5, absl::InfiniteFuture()).status().code(), absl::StatusCode::kInvalidArgument);
  // First request occupies the worker; the next two fill the queue; the fourth is refused.
  std::thread a([&] { EXPECT_TRUE(scheduler.Submit(work, 4, absl::InfiniteFuture()).ok()); });
  while (scheduler.queued_units() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::thread b([&] { EXPECT_TRUE(scheduler.Submit(work, 4, absl::InfiniteFuture()).ok()); });
  while (scheduler.queued_units() != 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto refused = scheduler.Submit(work, 1, absl::InfiniteFuture());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  release = true;
  a.join();
  b.join();
}

TEST(BatchSchedulerTest, ExpiredDeadlinesAndBatchErrorsFailOnlyTheirRequests) {
  BatchSchedulerOptions options;
  options.max_batch_units = 1;
  options.max_queue_delay_ms = 0;
  // The slow request holds the worker until `release`, which comes only after the late request's
  // deadline has passed: no sleep decides the outcome, so a loaded machine cannot reorder it.
  std::atomic<bool> started{false}, release{false};
  BatchScheduler<Work, int> scheduler(options, [&](const std::vector<const Work*>& r) -> absl::StatusOr<Results> {
    if (r[0]->value < 0) return absl::InternalError("model exploded");
    if (r[0]->value == 1) {
      started = true;
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Results{r[0]->value};
  });
  Work slow{1}, bad{-1}, late{3};
  std::thread t([&] { EXPECT_EQ(*scheduler.Submit(slow, 1, absl::InfiniteFuture()), 1); });
  while (!started.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(5);
  std::thread releaser([&] {
    absl::SleepFor(deadline - absl::Now() + absl::Milliseconds(20));
    release = true;
  });
  auto expired = scheduler.Submit(late, 1, deadline);
  releaser.join();
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(scheduler.Submit(bad, 1, absl::InfiniteFuture()).status().code(), absl::StatusCode::kInternal);
  Work fine{7};
  EXPECT_EQ(*scheduler.Submit(fine, 1, absl::InfiniteFuture()), 7);
  t.join();
  scheduler.Stop();
  EXPECT_EQ(scheduler.Submit(fine, 1, absl::InfiniteFuture()).status().code(), absl::StatusCode::kUnavailable);
}

// A batch function like the world-model engine's: it validates every request first and refuses the
// whole batch when one is bad, and it can also fail a single request on its own.
TEST(BatchSchedulerTest, ABadRequestNeverFailsTheGoodOnesBatchedWithIt) {
  BatchSchedulerOptions options;
  options.max_batch_units = 8;
  options.max_queue_delay_ms = 30;
  std::atomic<int> batch_calls{0}, largest{0};
  BatchScheduler<Work, int> scheduler(options, [&](const std::vector<const Work*>& r) -> absl::StatusOr<Results> {
    ++batch_calls;
    largest = std::max<int>(largest, static_cast<int>(r.size()));
    for (const Work* w : r) {
      if (w->value < 0) return absl::InvalidArgumentError("job: field 'actions' has the wrong shape");
    }
    Results out;
    for (const Work* w : r) {
      if (w->value == 13) {
        out.push_back(absl::NotFoundError("session expired"));
      } else {
        out.push_back(w->value * 10);
      }
    }
    return out;
  });
  std::vector<std::thread> callers;
  std::vector<absl::StatusCode> codes(16);
  std::vector<int> values(16, -1);
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([&, i] {
      Work work{i % 2 == 0 ? -1 : (i == 13 ? 13 : i)};
      auto r = scheduler.Submit(work, 1, absl::InfiniteFuture());
      codes[i] = r.status().code();
      if (r.ok()) values[i] = *r;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_GT(largest.load(), 1) << "the test needs mixed batches";
  for (int i = 0; i < 16; ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(codes[i], absl::StatusCode::kInvalidArgument) << i;
    } else if (i == 13) {
      EXPECT_EQ(codes[i], absl::StatusCode::kNotFound);
    } else {
      EXPECT_EQ(codes[i], absl::StatusCode::kOk) << i;
      EXPECT_EQ(values[i], i * 10);
    }
  }
}

TEST(BatchSchedulerTest, EarliestDeadlineIsServedFirst) {
  BatchSchedulerOptions options;
  options.max_batch_units = 1;
  options.max_queue_delay_ms = 0;
  std::vector<int> order;
  std::mutex order_mu;
  std::atomic<bool> release{false};
  BatchScheduler<Work, int> scheduler(options, [&](const std::vector<const Work*>& r) -> absl::StatusOr<Results> {
    while (!release.load() && r[0]->value == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(order_mu);
    order.push_back(r[0]->value);
    return Results{0};
  });
  Work blocker{0}, relaxed{1}, urgent{2};
  std::thread t0([&] { (void)scheduler.Submit(blocker, 1, absl::InfiniteFuture()); });
  while (scheduler.queued_units() != 0 || order.size() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::thread t1([&] { (void)scheduler.Submit(relaxed, 1, absl::Now() + absl::Seconds(60)); });
  while (scheduler.queued_units() != 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread t2([&] { (void)scheduler.Submit(urgent, 1, absl::Now() + absl::Seconds(5)); });
  while (scheduler.queued_units() != 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  release = true;
  t0.join();
  t1.join();
  t2.join();
  EXPECT_EQ(order, (std::vector<int>{0, 2, 1}));
}

// Records how many batches run at once and the units of each. With `wait_for_company`, a batch waits
// (bounded) until another one runs beside it, so a scheduler that never overlaps batches shows
// concurrency 1 after the wait instead of hanging.
struct LaneProbe {
  std::mutex mu;
  std::condition_variable changed;
  int active = 0;
  int most_active = 0;
  std::vector<int64_t> batch_units;

  absl::StatusOr<Results> Run(const std::vector<const Work*>& r, bool wait_for_company) {
    std::unique_lock<std::mutex> lock(mu);
    ++active;
    most_active = std::max(most_active, active);
    int64_t units = 0;
    for (const Work* w : r) units += w->value;  // each request's value is its unit count here
    batch_units.push_back(units);
    changed.notify_all();
    if (wait_for_company) changed.wait_for(lock, std::chrono::seconds(10), [&] { return most_active >= 2; });
    --active;
    return Results(r.size(), 1);
  }
};

// Room for both groups in one batch, and a delay long enough that both are queued before a lane
// forms one.
BatchSchedulerOptions TwoGroupOptions(int64_t lanes) {
  BatchSchedulerOptions options;
  options.max_batch_units = 64;
  options.max_queue_delay_ms = 200;
  options.lanes = lanes;
  return options;
}

// Two callers' 17-unit groups submitted together, answered; returns when both are.
void SubmitTwoGroupsTogether(BatchScheduler<Work, int>& scheduler) {
  Work a{17}, b{17};
  std::thread ta([&] { EXPECT_TRUE(scheduler.Submit(a, 17, absl::InfiniteFuture()).ok()); });
  std::thread tb([&] { EXPECT_TRUE(scheduler.Submit(b, 17, absl::InfiniteFuture()).ok()); });
  ta.join();
  tb.join();
}

TEST(BatchSchedulerTest, TwoLanesSplitGroupsThatArriveTogetherAndComputeThemSideBySide) {
  const BatchSchedulerOptions options = TwoGroupOptions(2);
  ASSERT_TRUE(options.Validate().ok());
  LaneProbe probe;
  BatchScheduler<Work, int> scheduler(options,
                                      [&](const std::vector<const Work*>& r) { return probe.Run(r, true); });
  SubmitTwoGroupsTogether(scheduler);
  EXPECT_EQ(probe.most_active, 2) << "the two groups should have been computed at the same time";
  EXPECT_EQ(probe.batch_units, (std::vector<int64_t>{17, 17}));
}

TEST(BatchSchedulerTest, OneLaneBatchesGroupsThatArriveTogether) {
  const BatchSchedulerOptions options = TwoGroupOptions(1);
  LaneProbe probe;
  BatchScheduler<Work, int> scheduler(options,
                                      [&](const std::vector<const Work*>& r) { return probe.Run(r, false); });
  SubmitTwoGroupsTogether(scheduler);
  EXPECT_EQ(probe.most_active, 1);
  EXPECT_EQ(probe.batch_units, (std::vector<int64_t>{34}));
}

TEST(BatchSchedulerTest, AnIdleLaneTakesEverythingWhileTheOtherIsBusy) {
  const BatchSchedulerOptions options = TwoGroupOptions(2);
  std::atomic<bool> release{false};
  LaneProbe probe;
  BatchScheduler<Work, int> scheduler(options, [&](const std::vector<const Work*>& r) -> absl::StatusOr<Results> {
    if (r[0]->value == 1) {  // the blocker holds its lane until the groups are answered
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Results(r.size(), 1);
    }
    return probe.Run(r, false);
  });
  Work blocker{1};
  std::thread tb([&] { EXPECT_TRUE(scheduler.Submit(blocker, 1, absl::InfiniteFuture()).ok()); });
  while (scheduler.queued_units() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the delay: the blocker is computing
  SubmitTwoGroupsTogether(scheduler);
  release = true;
  tb.join();
  EXPECT_EQ(probe.batch_units, (std::vector<int64_t>{34})) << "one idle lane: no reason to split";
}

TEST(BatchSchedulerTest, LanesOutsideOneToSixtyFourAreRefusedByName) {
  BatchSchedulerOptions options;
  for (int64_t lanes : {0, -1, 65}) {
    options.lanes = lanes;
    const absl::Status status = options.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << lanes;
    EXPECT_NE(status.message().find("lanes is " + std::to_string(lanes)), std::string::npos) << status;
  }
  options.lanes = 64;
  EXPECT_TRUE(options.Validate().ok());
}

TEST(BatchSchedulerTest, StoppingWithSeveralLanesFailsTheQueueAndJoinsEveryLane) {
  BatchSchedulerOptions options;
  options.max_batch_units = 1;
  options.max_queue_delay_ms = 0;
  options.lanes = 3;
  std::atomic<bool> release{false};
  std::atomic<int> computing{0};
  auto scheduler = std::make_unique<BatchScheduler<Work, int>>(
      options, [&](const std::vector<const Work*>& r) -> absl::StatusOr<Results> {
        ++computing;
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return Results(r.size(), 7);
      });
  std::vector<Work> work(5);
  std::vector<absl::StatusCode> codes(5, absl::StatusCode::kUnknown);
  std::vector<std::thread> callers;
  for (int i = 0; i < 5; ++i) {
    callers.emplace_back([&, i] { codes[i] = scheduler->Submit(work[i], 1, absl::InfiniteFuture()).status().code(); });
  }
  while (computing.load() != 3 || scheduler->queued_units() != 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread stopper([&] { scheduler->Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  stopper.join();
  for (auto& t : callers) t.join();
  int ok = 0, unavailable = 0;
  for (absl::StatusCode code : codes) {
    ok += code == absl::StatusCode::kOk;
    unavailable += code == absl::StatusCode::kUnavailable;
  }
  EXPECT_EQ(ok, 3) << "the batches in flight finish";
  EXPECT_EQ(unavailable, 2) << "the queued requests are failed";
}

}  // namespace
}  // namespace vlarft::services
