// The world model in process behind the Imaginer interface: the simulator service's computation
// (a group plus the expert reference as one more row sharing the prefilled context, KV-cached,
// sessions for closed-loop chunks) without gRPC. Same seeds give the same frames as the service.
#pragma once

#include <memory>
#include <mutex>

#include "libs/models/world_model_generation.h"
#include "libs/rollout/imaginer.h"

namespace vlarft::rollout {

class WorldModelImaginer : public Imaginer {
 public:
  explicit WorldModelImaginer(models::ImaginationEngine engine) : engine_(std::move(engine)) {}
  std::string name() const override { return "world-model imaginer"; }
  absl::StatusOr<std::unique_ptr<ImaginationSession>> Start(const Prompt& prompt,
                                                            const ImagineSettings& settings) override;

  const models::ImaginationEngine& engine() const { return engine_; }
  // Runs one engine call at a time (the engine is not thread-safe).
  absl::StatusOr<models::GroupResult> Run(const models::GroupJob& job);

 private:
  std::mutex mu_;
  models::ImaginationEngine engine_;
};

}  // namespace vlarft::rollout
