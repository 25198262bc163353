// The world model in process behind the Imaginer interface: the simulator service's computation
// (a group plus the expert reference as one more row sharing the prefilled context, KV-cached,
// sessions for closed-loop chunks) without gRPC. Same seeds give the same frames as the service.
//
// Calls from several threads (a study producing a GRPO step's groups in parallel) share the engine
// in one of two ways (WorldModelImaginerOptions::concurrency):
//  * batched: imagined in ONE engine call, as the simulator service batches its callers. The first
//    caller waits up to `batch_window` for `expected_callers` to join, then runs everything queued;
//    callers that arrive while a batch runs form the next one. Pays where a decode step costs about
//    the same for 17 rows or 34 (a launch-bound GPU).
//  * parallel: every call runs its own engine call at once. Pays on a multi-core CPU, where a decode
//    step is compute-bound (34 rows cost ~2x 17) and two calls use two cores (docs/results.md, "The
//    RFT harness": 2 groups per step, 2 cores). The engine's modules are only read during
//    imagination, so concurrent calls are safe.
// Either way the frames depend only on the jobs and their seeds, not on how calls were grouped.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/time/time.h"

#include "libs/models/imagination_engine.h"
#include "libs/rollout/imaginer.h"

namespace vlarft::rollout {

struct WorldModelImaginerOptions {
  enum class Concurrency { kBatched, kParallel };
  Concurrency concurrency = Concurrency::kBatched;
  int64_t expected_callers = 1;                             // batched: callers to wait for
  absl::Duration batch_window = absl::Milliseconds(50);     // batched: how long to wait for them
};

class WorldModelImaginer : public Imaginer {
 public:
  explicit WorldModelImaginer(models::ImaginationEngine engine, WorldModelImaginerOptions options = {})
      : engine_(std::move(engine)), options_(options) {}
  std::string name() const override { return "world-model imaginer"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                            const ImagineSettings& settings) override;

  const models::ImaginationEngine& engine() const { return engine_; }
  // Imagines `job`: batched with concurrent callers' jobs, or on its own (options.concurrency).
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
  WorldModelImaginerOptions options_;
};

}  // namespace vlarft::rollout
