#include "services/simulator/engine_backend.h"

#include <filesystem>
#include <fstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/rng.h"
#include "libs/core/device.h"
#include "libs/core/status.h"

namespace vlarft::services {

EngineBackend::EngineBackend(models::ImaginationEngine engine, SimulatorFacts facts, absl::Duration session_timeout)
    : engine_(std::move(engine)), facts_(std::move(facts)), sessions_("s", session_timeout) {}

bool EngineBackend::HasSession(const std::string& session_id) const { return sessions_.Has(session_id); }

absl::Status EngineBackend::ReleaseSession(const std::string& session_id) { return sessions_.Release(session_id); }

int64_t EngineBackend::KvCacheBytes() const {
  return sessions_.Sum([](const models::GroupSession& s) { return s.Bytes(); });
}

absl::StatusOr<ImagineResults> EngineBackend::ImagineBatch(const std::vector<const ImagineJob*>& jobs) {
  sessions_.Expire();
  ImagineResults out(jobs.size(), absl::InternalError("not imagined"));
  std::vector<models::GroupJob> groups;
  std::vector<size_t> job_of_group;
  // Owned for the whole batch: a ReleaseSession arriving meanwhile cannot free what the decode uses.
  std::vector<std::shared_ptr<models::GroupSession>> held;
  // Sessions this batch continues, claimed against every other batch in flight (other lanes).
  std::vector<std::string> claimed;
  absl::Cleanup unclaim = [&] {
    absl::MutexLock lock(&continuing_mu_);
    for (const std::string& id : claimed) continuing_.erase(id);
  };
  for (size_t i = 0; i < jobs.size(); ++i) {
    const ImagineJob& job = *jobs[i];
    models::GroupJob g;
    // The expert reference is one more row of the same group: it shares the prefilled context.
    g.actions = job.reference_actions.defined() ? torch::cat({job.actions, job.reference_actions.unsqueeze(0)}, 0)
                                                : job.actions;
    if (!job.session_id.empty()) {
      absl::StatusOr<std::shared_ptr<models::GroupSession>> session = sessions_.Share(job.session_id);
      if (!session.ok()) {
        out[i] = session.status();
        continue;
      }
      // Claimed before the checks read it: another lane's batch may be decoding it right now.
      {
        absl::MutexLock lock(&continuing_mu_);
        if (!continuing_.insert(job.session_id).second) {
          out[i] = absl::FailedPreconditionError(absl::StrCat("session '", job.session_id,
                                                              "' is already being continued by another request; "
                                                              "continue a session from one caller at a time"));
          continue;
        }
      }
      claimed.push_back(job.session_id);
      held.push_back(*session);
      g.session = session->get();
    } else {
      g.context_frame = job.context_frame;
      g.seeds = models::SequenceSeeds(job.sampling.seed, g.actions.size(0));
    }
    g.sampling.temperature = job.sampling.temperature;
    g.sampling.top_k = job.sampling.top_k;
    g.sampling.top_p = job.sampling.top_p;
    g.keep_session = job.keep_session && job.session_id.empty();
    // The engine refuses a whole batch for one bad job; checked alone here, a bad job fails by itself.
    if (absl::Status valid = engine_.Validate({g}); !valid.ok()) {
      out[i] = std::move(valid);
      if (g.session != nullptr) {  // not continued after all: the next request may claim it
        absl::MutexLock lock(&continuing_mu_);
        continuing_.erase(claimed.back());
        claimed.pop_back();
      }
      continue;
    }
    groups.push_back(std::move(g));
    job_of_group.push_back(i);
  }
  if (groups.empty()) return out;
  VLARFT_ASSIGN_OR_RETURN(std::vector<models::GroupResult> results, engine_.ImagineBatch(groups));
  for (size_t k = 0; k < groups.size(); ++k) {
    const ImagineJob& job = *jobs[job_of_group[k]];
    models::GroupResult& r = results[k];
    const int64_t g = job.actions.size(0);
    ImagineResult result;
    result.frames = r.frames.narrow(0, 0, g);
    if (job.reference_actions.defined()) result.reference_frames = r.frames[g];
    if (job.return_tokens) {
      result.tokens = r.tokens.narrow(0, 0, g).to(torch::kInt32);
      if (job.reference_actions.defined()) result.reference_tokens = r.tokens[g].to(torch::kInt32);
    }
    result.generated_tokens = r.tokens.numel();
    if (r.session != nullptr) {
      result.session_id = sessions_.Add(std::shared_ptr<models::GroupSession>(std::move(r.session)));
    } else if (!job.session_id.empty()) {
      result.session_id = job.session_id;  // continued: the session stays until released or idle
    }
    out[job_of_group[k]] = std::move(result);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<EngineBackend>> LoadEngineBackend(const SimulatorConfig& config) {
  VLARFT_RETURN_IF_ERROR(core::Annotate(config.Validate(), "simulator"));
  const std::string& tokenizer_stem = config.tokenizer_checkpoint;
  const std::string& world_model_stem = config.world_model_checkpoint;
  const int64_t max_group_size = config.max_group_size;
  VLARFT_ASSIGN_OR_RETURN(torch::Device dev, core::ParseDevice(config.device, "simulator.device"));
  models::EngineLimits limits;
  limits.max_group_size = max_group_size + 1;  // + the expert reference row
  limits.world_model_dtype = config.world_model_dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  VLARFT_ASSIGN_OR_RETURN(models::ImaginationEngine engine,
                          models::ImaginationEngine::Load(tokenizer_stem, world_model_stem, dev, limits));
  SimulatorFacts facts;
  const auto& tok = engine.tokenizer()->config();
  facts.frame_height = tok.image_size;
  facts.frame_width = tok.image_size;
  facts.tokens_per_frame = tok.future_tokens();
  facts.max_group_size = max_group_size;
  // A chunk is chunk_length steps, i.e. chunk_length / action_stride imagined frames.
  const models::WorldModelConfig& wm = engine.world_model()->config();
  if (facts.chunk_length % wm.action_stride != 0) {
    return absl::FailedPreconditionError(absl::StrCat(world_model_stem, " imagines one frame every ", wm.action_stride,
                                                      " steps, which does not divide a chunk of ", facts.chunk_length));
  }
  facts.max_horizon = std::min<int64_t>(config.max_horizon, wm.max_frames * wm.action_stride / facts.chunk_length);
  facts.device = dev.str();
  // Fingerprint: sizes and modification times of the weight files, enough to tell models apart.
  uint64_t hash = 1469598103934665603ull;
  for (const std::string& stem : {tokenizer_stem, world_model_stem}) {
    const std::string path = stem + ".safetensors";
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    const auto mtime = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
    for (uint64_t v : {size, static_cast<uint64_t>(mtime)}) hash = (hash ^ v) * 1099511628211ull;
  }
  facts.fingerprint = absl::StrFormat("%016x", hash);
  return std::make_unique<EngineBackend>(std::move(engine), std::move(facts),
                                         absl::Seconds(config.session_idle_timeout_s));
}

}  // namespace vlarft::services
