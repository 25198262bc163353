// The world-model backend under hostile use: a session released while a batch decodes it, batches
// mixing good jobs with every kind of job the engine refuses (each fails by itself), and batches
// running at once (the scheduler's lanes).
#include "services/simulator/engine_backend.h"

#include <atomic>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/models/world_model_test_util.h"

namespace vlarft::services {
namespace {

std::unique_ptr<EngineBackend> MakeBackend() {
  torch::manual_seed(5);
  models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());
  models::WorldModel model(models::testing::SmallWorldModelConfig(), models::testing::UnitActions());
  return std::make_unique<EngineBackend>(models::ImaginationEngine::Create(tokenizer, model).value(), SimulatorFacts{},
                                         absl::Minutes(5));
}

ImagineJob NewJob(int64_t group, int64_t frames, uint64_t seed, bool keep) {
  ImagineJob job;
  job.context_frame = models::testing::SyntheticFrames(1, 16, static_cast<int64_t>(seed))[0].contiguous();
  job.actions = torch::rand({group, frames, 7}) * 0.2;
  job.reference_actions = torch::zeros({frames, 7});
  job.sampling.seed = seed;
  job.keep_session = keep;
  return job;
}

ImagineJob Continue(const std::string& session, int64_t group, int64_t frames) {
  ImagineJob job;
  job.session_id = session;
  job.actions = torch::rand({group, frames, 7}) * 0.2;
  job.reference_actions = torch::zeros({frames, 7});
  return job;
}

std::string KeptSession(EngineBackend& backend, int64_t group) {
  ImagineJob job = NewJob(group, 1, 99, /*keep=*/true);
  auto out = backend.ImagineBatch({&job});
  EXPECT_TRUE(out.ok() && (*out)[0].ok());
  return (out.ok() && (*out)[0].ok()) ? (*out)[0]->session_id : "";
}

TEST(EngineBackendTest, ReleasingASessionWhileABatchDecodesItIsSafe) {
  std::unique_ptr<EngineBackend> backend = MakeBackend();
  for (int round = 0; round < 20; ++round) {
    const std::string id = KeptSession(*backend, 4);
    ASSERT_FALSE(id.empty());
    ImagineJob next = Continue(id, 4, 7);  // the rest of the model's 8 frames: the longest decode
    std::atomic<bool> started{false};
    absl::StatusOr<ImagineResults> result;
    std::thread batch([&] {
      started = true;
      result = backend->ImagineBatch({&next});
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
    (void)backend->ReleaseSession(id);  // NOT_FOUND is fine if the batch already ran to the end
    batch.join();
    ASSERT_TRUE(result.ok()) << result.status();
    // Either the batch held the session (and finished it) or the release came first (NOT_FOUND).
    const absl::StatusOr<ImagineResult>& r = (*result)[0];
    if (r.ok()) {
      EXPECT_EQ(r->frames.size(1), 7);
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
    }
    EXPECT_FALSE(backend->HasSession(id));
  }
}

TEST(EngineBackendTest, BadJobsFailAloneAndGoodJobsInTheSameBatchGetTheirOwnFrames) {
  std::unique_ptr<EngineBackend> backend = MakeBackend();
  const std::string session = KeptSession(*backend, 2);
  const std::string released = KeptSession(*backend, 2);
  ASSERT_TRUE(backend->ReleaseSession(released).ok());

  ImagineJob good_a = NewJob(3, 4, 11, false), good_b = NewJob(2, 2, 12, false);
  ImagineJob wrong_group = Continue(session, 3, 2);       // the session holds 2 samples (+ reference)
  ImagineJob past_limit = Continue(session, 2, 8);        // 1 + 8 frames > the model's 8
  ImagineJob first = Continue(session, 2, 2), twice = Continue(session, 2, 2);  // one session, twice at once
  ImagineJob expired = Continue(released, 2, 2);

  auto alone_a = backend->ImagineBatch({&good_a});
  auto alone_b = backend->ImagineBatch({&good_b});
  ASSERT_TRUE(alone_a.ok() && (*alone_a)[0].ok() && alone_b.ok() && (*alone_b)[0].ok());

  auto mixed = backend->ImagineBatch({&wrong_group, &good_a, &past_limit, &first, &twice, &expired, &good_b});
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  const ImagineResults& r = *mixed;
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].status().code(), absl::StatusCode::kInvalidArgument) << r[0].status();
  EXPECT_NE(std::string(r[0].status().message()).find("sequences"), std::string::npos) << r[0].status();
  EXPECT_EQ(r[2].status().code(), absl::StatusCode::kInvalidArgument) << r[2].status();
  EXPECT_NE(std::string(r[2].status().message()).find("horizon"), std::string::npos) << r[2].status();
  EXPECT_TRUE(r[3].ok()) << r[3].status();
  EXPECT_EQ(r[4].status().code(), absl::StatusCode::kFailedPrecondition) << r[4].status();
  EXPECT_EQ(r[5].status().code(), absl::StatusCode::kNotFound) << r[5].status();
  ASSERT_TRUE(r[1].ok()) << r[1].status();
  ASSERT_TRUE(r[6].ok()) << r[6].status();
  // Seeded per request: batched with anything, a good job imagines what it imagines alone.
  EXPECT_TRUE(torch::equal(r[1]->frames, (*alone_a)[0]->frames));
  EXPECT_TRUE(torch::equal(r[6]->frames, (*alone_b)[0]->frames));
  EXPECT_TRUE(torch::equal(r[6]->reference_frames, (*alone_b)[0]->reference_frames));
}

// The simulator's scheduler lanes call ImagineBatch from several threads at once.
TEST(EngineBackendTest, ConcurrentBatchesImagineWhatEachImaginesAloneAndClaimSessionsOneAtATime) {
  std::unique_ptr<EngineBackend> backend = MakeBackend();
  ImagineJob a = NewJob(3, 3, 21, false), b = NewJob(4, 2, 22, false);
  auto alone_a = backend->ImagineBatch({&a});
  auto alone_b = backend->ImagineBatch({&b});
  ASSERT_TRUE(alone_a.ok() && (*alone_a)[0].ok() && alone_b.ok() && (*alone_b)[0].ok());
  for (int round = 0; round < 4; ++round) {
    absl::StatusOr<ImagineResults> side_a, side_b;
    std::thread ta([&] { side_a = backend->ImagineBatch({&a}); });
    std::thread tb([&] { side_b = backend->ImagineBatch({&b}); });
    ta.join();
    tb.join();
    ASSERT_TRUE(side_a.ok() && (*side_a)[0].ok() && side_b.ok() && (*side_b)[0].ok());
    EXPECT_TRUE(torch::equal((*side_a)[0]->frames, (*alone_a)[0]->frames)) << round;
    EXPECT_TRUE(torch::equal((*side_b)[0]->frames, (*alone_b)[0]->frames)) << round;
    EXPECT_TRUE(torch::equal((*side_b)[0]->reference_frames, (*alone_b)[0]->reference_frames)) << round;
  }
  int overlapped = 0;
  for (int round = 0; round < 6; ++round) {
    const std::string id = KeptSession(*backend, 2);
    ASSERT_FALSE(id.empty());
    // 1 + 4 + 4 frames exceed the model's 8: only one of the two may ever run.
    ImagineJob first = Continue(id, 2, 4), second = Continue(id, 2, 4);
    absl::StatusOr<ImagineResults> r1, r2;
    std::thread t1([&] { r1 = backend->ImagineBatch({&first}); });
    std::thread t2([&] { r2 = backend->ImagineBatch({&second}); });
    t1.join();
    t2.join();
    ASSERT_TRUE(r1.ok() && r2.ok());
    const absl::StatusOr<ImagineResult>& x = (*r1)[0];
    const absl::StatusOr<ImagineResult>& y = (*r2)[0];
    ASSERT_NE(x.ok(), y.ok()) << "exactly one continues: " << x.status() << " / " << y.status();
    const absl::Status refused = x.ok() ? y.status() : x.status();
    if (refused.code() == absl::StatusCode::kFailedPrecondition) {
      ++overlapped;  // at once: the second is refused by name
      EXPECT_NE(std::string(refused.message()).find("already being continued"), std::string::npos) << refused;
    } else {
      EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;  // one after the other
      EXPECT_NE(std::string(refused.message()).find("horizon"), std::string::npos) << refused;
    }
    // The claim ends with the batch: the session continues again.
    ImagineJob again = Continue(id, 2, 1);
    auto next = backend->ImagineBatch({&again});
    ASSERT_TRUE(next.ok());
    EXPECT_TRUE((*next)[0].ok()) << (*next)[0].status();
  }
  std::cout << "continuations that overlapped: " << overlapped << " of 6\n";
}

TEST(EngineBackendTest, AWorldModelWithFramesSeveralStepsApartServesWholeChunks) {
  // Saved models on disk, loaded as the simulator does: a model imagining one frame every 2 steps
  // serves twice as many chunks of 8 steps as its frames allow one per step; one whose stride does
  // not divide a chunk is refused at startup, by name.
  const std::string dir = ::testing::TempDir() + "/engine_backend_stride";
  std::filesystem::create_directories(dir);
  torch::manual_seed(5);
  models::VideoTokenizer tokenizer(models::testing::SmallTokenizerConfig());
  ASSERT_TRUE(models::SaveTokenizer(dir + "/tok", tokenizer, 0).ok());
  SimulatorConfig config;
  config.tokenizer_checkpoint = dir + "/tok";
  config.max_horizon = 8;
  for (const int64_t stride : {1, 2, 3}) {
    models::WorldModelConfig geometry = models::testing::SmallWorldModelConfig();  // 8 frames at most
    geometry.action_stride = stride;
    models::WorldModel model(geometry, models::testing::UnitActions());
    const std::string stem = dir + "/wm" + std::to_string(stride);
    ASSERT_TRUE(models::SaveWorldModel(stem, model, 0).ok());
    config.world_model_checkpoint = stem;
    auto backend = LoadEngineBackend(config);
    if (stride == 3) {
      ASSERT_FALSE(backend.ok());
      EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_NE(backend.status().message().find("every 3 steps"), std::string::npos) << backend.status();
      continue;
    }
    ASSERT_TRUE(backend.ok()) << backend.status();
    EXPECT_EQ((*backend)->Facts().max_horizon, stride) << "8 frames x " << stride << " steps / chunks of 8";
    ImagineJob job = NewJob(2, 8, 7, /*keep=*/false);
    auto out = (*backend)->ImagineBatch({&job});
    ASSERT_TRUE(out.ok() && (*out)[0].ok());
    EXPECT_EQ((*out)[0]->frames.size(1), 8 / stride);
  }
}

}  // namespace
}  // namespace vlarft::services
