// The simulator service's real-simulator backend (simulator.backend = tabletop): chunks executed
// from the named demonstration state, closed-loop sessions, and a clear error for a request that
// does not name its state.
#include "services/simulator/tabletop_backend.h"

#include <cstring>

#include "gtest/gtest.h"
#include "tests/data/test_files.h"

namespace vlarft::services {
namespace {

constexpr int kSize = 32;

TEST(TabletopBackendTest, ExecutesTheNamedDemonstrationStateAndKeepsSessions) {
  const absl::StatusOr<std::string> dir = data::testing::GenerateDemosForTest("tabletop_backend", {"goal"}, 1, kSize);
  ASSERT_TRUE(dir.ok()) << dir.status();
  auto backend = LoadTabletopBackend(*dir, {}, kSize, 4, 2, absl::Seconds(60));
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto dataset = data::LoadDemoDirectory(*dir, {}, kSize);
  ASSERT_TRUE(dataset.ok());
  const data::Episode& e = dataset->episodes[3];
  const int64_t step = 2;
  ASSERT_GE(e.length, step + 17);

  ImagineJob job;
  job.context_frame = torch::from_blob(const_cast<uint8_t*>(e.frame(step)), {kSize, kSize, 3}, torch::kUInt8).clone();
  const torch::Tensor expert = torch::from_blob(const_cast<float*>(e.action(step)), {16, 7}, torch::kFloat32).clone();
  job.actions = expert.narrow(0, 0, 8).unsqueeze(0).repeat({2, 1, 1});
  job.actions[1].zero_();
  job.reference_actions = expert.narrow(0, 0, 8);
  job.keep_session = true;
  // Without the state's name the backend cannot run the request, and says so.
  auto unnamed = (*backend)->ImagineBatch({&job});
  ASSERT_TRUE(unnamed.ok()) << unnamed.status();
  ASSERT_FALSE((*unnamed)[0].ok());
  EXPECT_NE(std::string((*unnamed)[0].status().message()).find("field 'prompt'"), std::string::npos)
      << (*unnamed)[0].status();

  job.prompt_episode = 3;
  job.prompt_step = step;
  auto first = (*backend)->ImagineBatch({&job});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)[0].ok()) << (*first)[0].status();
  const ImagineResult& r = *(*first)[0];
  ASSERT_EQ(r.frames.sizes().vec(), (std::vector<int64_t>{2, 8, kSize, kSize, 3}));
  for (int64_t t = 0; t < 8; ++t) {  // the expert's chunk replays the demonstration
    EXPECT_EQ(std::memcmp(r.frames[0][t].contiguous().data_ptr<uint8_t>(), e.frame(step + 1 + t), kSize * kSize * 3), 0);
    EXPECT_EQ(std::memcmp(r.reference_frames[t].contiguous().data_ptr<uint8_t>(), e.frame(step + 1 + t), kSize * kSize * 3), 0);
  }
  ASSERT_FALSE(r.session_id.empty());
  EXPECT_TRUE((*backend)->HasSession(r.session_id));

  // The next chunk continues from where each sample's first chunk left it.
  ImagineJob next;
  next.session_id = r.session_id;
  next.actions = expert.narrow(0, 8, 8).unsqueeze(0).repeat({2, 1, 1});
  next.reference_actions = expert.narrow(0, 8, 8);
  auto second = (*backend)->ImagineBatch({&next});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE((*second)[0].ok()) << (*second)[0].status();
  for (int64_t t = 0; t < 8; ++t) {
    EXPECT_EQ(std::memcmp((*second)[0]->frames[0][t].contiguous().data_ptr<uint8_t>(), e.frame(step + 9 + t),
                          kSize * kSize * 3), 0);
  }
  EXPECT_TRUE((*backend)->ReleaseSession(r.session_id).ok());
  EXPECT_FALSE((*backend)->HasSession(r.session_id));

  // A state that is not the frame's is refused, and fails only its own job.
  ImagineJob wrong = job;
  wrong.prompt_step = step + 5;
  job.keep_session = false;
  auto mixed = (*backend)->ImagineBatch({&wrong, &job});
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ((*mixed)[0].status().code(), absl::StatusCode::kFailedPrecondition) << (*mixed)[0].status();
  EXPECT_TRUE((*mixed)[1].ok()) << (*mixed)[1].status();
}

}  // namespace
}  // namespace vlarft::services
