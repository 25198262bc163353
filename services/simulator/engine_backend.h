// The production WorldModelBackend: the tokenizer + transformer ImaginationEngine of libs/models.
// Adds what the engine leaves to its owner: the expert reference as one extra row of the group,
// per-sequence seeds derived from the request seed, and the table of kept closed-loop sessions
// (expired after an idle timeout). Sessions are shared: a batch holds each session it continues, so
// a release or an expiry while the batch decodes only drops the table's reference. Each job is
// checked on its own before the batch runs; a job that fails a check gets its own error. Batches may
// run concurrently (the scheduler's lanes): the engine keeps no state between calls, and a session
// is continued by one batch at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "libs/models/imagination_engine.h"
#include "services/simulator/session_table.h"
#include "services/simulator/simulator_config.h"
#include "services/simulator/world_model_backend.h"

namespace vlarft::services {

class EngineBackend : public WorldModelBackend {
 public:
  EngineBackend(models::ImaginationEngine engine, SimulatorFacts facts, absl::Duration session_timeout);

  const SimulatorFacts& Facts() const override { return facts_; }
  absl::StatusOr<ImagineResults> ImagineBatch(const std::vector<const ImagineJob*>& jobs) override;
  absl::Status ReleaseSession(const std::string& session_id) override;
  bool HasSession(const std::string& session_id) const override;
  int64_t KvCacheBytes() const override;

 private:
  models::ImaginationEngine engine_;
  SimulatorFacts facts_;
  SessionTable<std::shared_ptr<models::GroupSession>> sessions_;
  absl::Mutex continuing_mu_;
  std::set<std::string> continuing_ ABSL_GUARDED_BY(continuing_mu_);  // sessions a batch is decoding
};

// Loads the checkpoints named in the simulator config (validated) onto its device, with its world-model
// dtype, and derives the facts (fingerprint included).
absl::StatusOr<std::unique_ptr<EngineBackend>> LoadEngineBackend(const SimulatorConfig& config);

}  // namespace vlarft::services
