// The world model in process behind the Imaginer interface: the simulator service's computation
// (a group plus the expert reference as one more row sharing the prefilled context, KV-cached,
// sessions for closed-loop chunks) without gRPC. Same seeds give the same frames as the service.
//
// Batching: decoding is one token per step for every row, so the cost of a step barely grows with
// the rows in it. Calls that arrive from several threads together (a study producing a GRPO step's
// groups in parallel) are imagined in ONE engine call, as the simulator service batches its
// callers: the first caller waits up to `batch_window` for `expected_callers` to join, then runs
// everything queued; callers that arrive while a batch runs form the next one.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/time/time.h"

#include "libs/models/world_model_generation.h"
#include "libs/rollout/imaginer.h"

namespace vlarft::rollout {

class WorldModelImaginer : public Imaginer {
 public:
  explicit WorldModelImaginer(models::ImaginationEngine engine, int64_t expected_callers = 1,
                              absl::Duration batch_window = absl::Milliseconds(50))
      : engine_(std::move(engine)), expected_callers_(expected_callers), batch_window_(batch_window) {}
  std::string name() const override { return "world-model imaginer"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                            const ImagineSettings& settings) override;

  const models::ImaginationEngine& engine() const { return engine_; }
  // Imagines `job`, batched with concurrent callers' jobs (the engine itself runs one call at a time).
  absl::StatusOr<models::GroupResult> Run(const models::GroupJob& job);

 private:
  struct Pending {
    const models::GroupJob* job;
    absl::StatusOr<models::GroupResult> result = absl::UnknownError("not run");
    bool done = false;
  };
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Pending*> queue_;  // waiting for the next engine call
  bool running_ = false;         // an engine call is in progress
  models::ImaginationEngine engine_;
  int64_t expected_callers_;
  absl::Duration batch_window_;
};

}  // namespace vlarft::rollout
