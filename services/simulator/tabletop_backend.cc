#include "services/simulator/tabletop_backend.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::services {

TabletopBackend::TabletopBackend(std::unique_ptr<data::DemoDataset> dataset, SimulatorFacts facts,
                                 absl::Duration session_timeout)
    : dataset_(std::move(dataset)),
      imaginer_(dataset_.get(), data::DemoReplayOptions{}),
      facts_(std::move(facts)),
      sessions_("t", session_timeout) {}

bool TabletopBackend::HasSession(const std::string& session_id) const { return sessions_.Has(session_id); }

absl::Status TabletopBackend::ReleaseSession(const std::string& session_id) { return sessions_.Release(session_id); }

absl::StatusOr<ImagineResult> TabletopBackend::Run(const ImagineJob& job) {
  const int64_t g = job.actions.size(0), c = facts_.chunk_length, chunks = job.actions.size(1) / c;
  std::shared_ptr<rollout::ImaginationSession> session;
  if (!job.session_id.empty()) {
    VLARFT_ASSIGN_OR_RETURN(session, sessions_.Share(job.session_id));
  } else {
    if (job.prompt_episode < 0) {
      return absl::InvalidArgumentError(
          "field 'prompt': the tabletop simulator backend needs the demonstration state (episode, step) of "
          "context_frame");
    }
    rollout::Prompt prompt;
    prompt.frame = job.context_frame;
    prompt.episode = job.prompt_episode;
    prompt.step = job.prompt_step;
    rollout::ImagineSettings settings;
    settings.group_size = g;
    settings.horizon = facts_.max_horizon;
    VLARFT_ASSIGN_OR_RETURN(std::unique_ptr<rollout::ImaginationSession> started, imaginer_.Start(prompt, settings));
    session = std::move(started);
  }
  // Without reference actions the reference row stands still (zero actions); its frames are dropped.
  const torch::Tensor reference =
      job.reference_actions.defined() ? job.reference_actions : torch::zeros({chunks * c, facts_.action_dim});
  std::vector<torch::Tensor> frames, reference_frames;
  for (int64_t k = 0; k < chunks; ++k) {
    VLARFT_ASSIGN_OR_RETURN(rollout::ImaginedChunk chunk,
                            session->Next(job.actions.narrow(1, k * c, c), reference.narrow(0, k * c, c)));
    frames.push_back(chunk.frames);
    reference_frames.push_back(chunk.reference);
  }
  ImagineResult result;
  result.frames = torch::cat(frames, 1);
  if (job.reference_actions.defined()) result.reference_frames = torch::cat(reference_frames, 0);
  if (job.return_tokens) return absl::InvalidArgumentError("field 'return_tokens': the tabletop backend has no tokens");
  if (job.session_id.empty() && job.keep_session) {
    result.session_id = sessions_.Add(session);
  } else if (!job.session_id.empty()) {
    result.session_id = job.session_id;
  }
  return result;
}

absl::StatusOr<ImagineResults> TabletopBackend::ImagineBatch(const std::vector<const ImagineJob*>& jobs) {
  absl::MutexLock lock(&run_mu_);
  sessions_.Expire();
  ImagineResults out;
  for (const ImagineJob* job : jobs) out.push_back(Run(*job));
  return out;
}

absl::StatusOr<std::unique_ptr<TabletopBackend>> LoadTabletopBackend(const std::string& dataset,
                                                                     const std::vector<std::string>& suites,
                                                                     int64_t image_size, int64_t max_group_size,
                                                                     int64_t max_horizon, absl::Duration session_timeout) {
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset loaded, data::LoadDemoDirectory(dataset, suites, static_cast<int>(image_size)));
  SimulatorFacts facts;
  facts.model_name = "tabletop";
  facts.fingerprint = absl::StrCat("tabletop:", dataset, ":", loaded.episodes.size());
  facts.frame_height = facts.frame_width = image_size;
  facts.max_group_size = max_group_size;
  facts.max_horizon = max_horizon;
  facts.tokens_per_frame = 0;
  return std::make_unique<TabletopBackend>(std::make_unique<data::DemoDataset>(std::move(loaded)), facts,
                                           session_timeout);
}

}  // namespace vlarft::services
