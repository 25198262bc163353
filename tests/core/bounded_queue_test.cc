#include "libs/core/bounded_queue.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

// Tests never assert on elapsed time: the CI box is shared and slow. Short timeouts only bound how
// long a failing test takes.
constexpr absl::Duration kShort = absl::Milliseconds(5);

TEST(BoundedQueueTest, FifoOrder) {
  BoundedQueue<int> queue(4);
  for (int i = 0; i < 4; ++i) {
    int item = i;
    ASSERT_TRUE(queue.TryPush(item));
  }
  for (int i = 0; i < 4; ++i) {
    std::optional<int> item = queue.PopWithTimeout(kShort);
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(*item, i);
  }
}

TEST(BoundedQueueTest, TryPushFailsWhenFullAndLeavesItemUntouched) {
  BoundedQueue<std::unique_ptr<int>> queue(2);
  auto a = std::make_unique<int>(1);
  auto b = std::make_unique<int>(2);
  auto c = std::make_unique<int>(3);
  EXPECT_TRUE(queue.TryPush(a));
  EXPECT_TRUE(queue.TryPush(b));
  EXPECT_EQ(a, nullptr);  // moved into the queue
  EXPECT_FALSE(queue.TryPush(c));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*c, 3);
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.capacity(), 2u);
}

TEST(BoundedQueueTest, ZeroCapacityRejectsEverything) {
  BoundedQueue<int> queue(0);
  int item = 1;
  EXPECT_FALSE(queue.TryPush(item));
  EXPECT_FALSE(queue.PushWithTimeout(item, absl::Milliseconds(1)));
}

TEST(BoundedQueueTest, PopTimesOutWhenEmpty) {
  BoundedQueue<int> queue(1);
  EXPECT_FALSE(queue.PopWithTimeout(absl::Milliseconds(1)).has_value());
  EXPECT_FALSE(queue.PopWithTimeout(absl::ZeroDuration()).has_value());
}

TEST(BoundedQueueTest, PushWithTimeoutTimesOutWhenFull) {
  BoundedQueue<std::string> queue(1);
  std::string first = "first";
  std::string second = "second";
  EXPECT_TRUE(queue.PushWithTimeout(first, kShort));
  EXPECT_FALSE(queue.PushWithTimeout(second, absl::Milliseconds(2)));
  EXPECT_EQ(second, "second");
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BoundedQueueTest, PopUpToTakesWhatIsAvailable) {
  BoundedQueue<int> queue(8);
  EXPECT_TRUE(queue.PopUpTo(3).empty());
  for (int i = 0; i < 5; ++i) {
    int item = i;
    ASSERT_TRUE(queue.TryPush(item));
  }
  EXPECT_EQ(queue.PopUpTo(3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(queue.PopUpTo(10), (std::vector<int>{3, 4}));
  EXPECT_TRUE(queue.PopUpTo(0).empty());
  EXPECT_EQ(queue.size(), 0u);
}

TEST(BoundedQueueTest, CloseRejectsPushesAndDrainsRemainingItems) {
  BoundedQueue<int> queue(4);
  int one = 1, two = 2;
  ASSERT_TRUE(queue.TryPush(one));
  ASSERT_TRUE(queue.TryPush(two));
  EXPECT_FALSE(queue.closed());
  queue.Close();
  EXPECT_TRUE(queue.closed());

  int three = 3;
  EXPECT_FALSE(queue.TryPush(three));
  // A closed queue answers at once even with a long timeout.
  EXPECT_FALSE(queue.PushWithTimeout(three, absl::Seconds(30)));
  EXPECT_EQ(three, 3);

  EXPECT_EQ(queue.PopWithTimeout(absl::Seconds(30)), std::optional<int>(1));
  EXPECT_EQ(queue.PopWithTimeout(absl::Seconds(30)), std::optional<int>(2));
  EXPECT_EQ(queue.PopWithTimeout(absl::Seconds(30)), std::nullopt);
  queue.Close();  // idempotent
  EXPECT_TRUE(queue.closed());
}

TEST(BoundedQueueTest, CloseWakesBlockedConsumer) {
  BoundedQueue<int> queue(1);
  absl::Notification started;
  std::optional<int> result = 7;
  std::thread consumer([&] {
    started.Notify();
    result = queue.PopWithTimeout(absl::InfiniteDuration());
  });
  started.WaitForNotification();
  queue.Close();
  consumer.join();
  EXPECT_EQ(result, std::nullopt);
}

TEST(BoundedQueueTest, CloseWakesBlockedProducer) {
  BoundedQueue<int> queue(1);
  int filler = 0;
  ASSERT_TRUE(queue.TryPush(filler));
  absl::Notification started;
  std::atomic<bool> pushed{true};
  std::thread producer([&] {
    int item = 1;
    started.Notify();
    pushed = queue.PushWithTimeout(item, absl::InfiniteDuration());
  });
  started.WaitForNotification();
  queue.Close();
  producer.join();
  EXPECT_FALSE(pushed);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BoundedQueueTest, BlockedProducerProceedsWhenRoomAppears) {
  BoundedQueue<int> queue(1);
  int filler = 0;
  ASSERT_TRUE(queue.TryPush(filler));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    int item = 1;
    pushed = queue.PushWithTimeout(item, absl::InfiniteDuration());
  });
  EXPECT_EQ(queue.PopWithTimeout(absl::InfiniteDuration()), std::optional<int>(0));
  EXPECT_EQ(queue.PopWithTimeout(absl::InfiniteDuration()), std::optional<int>(1));
  producer.join();
  EXPECT_TRUE(pushed);
}

TEST(BoundedQueueTest, ManyProducersAndConsumersDeliverEveryItemOnce) {
  constexpr int kProducers = 4;
  constexpr int kConsumers = 3;
  constexpr int kPerProducer = 500;
  BoundedQueue<int> queue(8);
  std::vector<std::vector<int>> received(kConsumers);
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&queue, &received, c] {
      while (std::optional<int> item = queue.PopWithTimeout(absl::InfiniteDuration())) {
        received[c].push_back(*item);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&queue, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        int item = p * kPerProducer + i;
        ASSERT_TRUE(queue.PushWithTimeout(item, absl::InfiniteDuration()));
      }
    });
  }
  for (std::thread& t : producers) t.join();
  queue.Close();
  for (std::thread& t : consumers) t.join();

  std::multiset<int> all;
  for (const auto& items : received) all.insert(items.begin(), items.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kProducers * kPerProducer));
  for (int i = 0; i < kProducers * kPerProducer; ++i) EXPECT_EQ(all.count(i), 1u) << i;
  // Each consumer sees each producer's items in the order they were pushed.
  for (const auto& items : received) {
    std::vector<int> last(kProducers, -1);
    for (int item : items) {
      EXPECT_GT(item, last[item / kPerProducer]);
      last[item / kPerProducer] = item;
    }
  }
}

}  // namespace
}  // namespace vlarft::core
