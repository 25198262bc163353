#include "services/common/batch_scheduler.h"

#include <atomic>
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

}  // namespace
}  // namespace vlarft::services
