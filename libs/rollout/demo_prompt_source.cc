#include "libs/rollout/demo_prompt_source.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::rollout {

absl::StatusOr<std::unique_ptr<DemoPromptSource>> DemoPromptSource::Load(const std::string& dir,
                                                                        const std::vector<std::string>& suites,
                                                                        int image_size, uint64_t split_seed,
                                                                        double validation_fraction, int64_t steps,
                                                                        DemoPromptSourceOptions options) {
  if (options.stream_frames && options.cache_episodes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("cache_episodes must be >= 1, got ", options.cache_episodes));
  }
  VLARFT_ASSIGN_OR_RETURN(data::DemoDataset loaded,
                          data::LoadDemoDirectory(dir, suites, image_size, 0, /*with_frames=*/!options.stream_frames));
  auto dataset = std::make_unique<data::DemoDataset>(std::move(loaded));
  VLARFT_ASSIGN_OR_RETURN(data::PromptSampler sampler,
                          data::PromptSampler::Create(dataset.get(), split_seed, validation_fraction));
  return std::unique_ptr<DemoPromptSource>(
      new DemoPromptSource(std::move(dataset), std::move(sampler), steps, dir, options));
}

int64_t DemoPromptSource::episode_reads() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return reads_;
}

absl::StatusOr<std::shared_ptr<const data::Episode>> DemoPromptSource::EpisodeWithFrames(int64_t episode) {
  const data::Episode& indexed = dataset_->episodes[episode];
  if (!options_.stream_frames) {
    return std::shared_ptr<const data::Episode>(std::shared_ptr<const data::Episode>(), &indexed);  // not owned
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto hit = cache_.find(episode);
    if (hit != cache_.end()) {
      recency_.splice(recency_.begin(), recency_, hit->second.second);
      return hit->second.first;
    }
  }
  // Read outside the cache lock (HDF5 has its own); two threads missing the same episode both read it.
  VLARFT_ASSIGN_OR_RETURN(data::Episode read, data::ReadDemoEpisode(indexed.file, indexed.demo, dataset_->image_size));
  if (read.length != indexed.length || read.size != indexed.size) {
    return absl::DataLossError(absl::StrCat(indexed.file, " ", indexed.demo, " changed since it was indexed: ",
                                            read.length, " steps of ", read.size, " px, indexed ", indexed.length,
                                            " steps of ", indexed.size, " px"));
  }
  read.suite = indexed.suite, read.task = indexed.task, read.instruction = indexed.instruction;
  auto full = std::make_shared<const data::Episode>(std::move(read));
  std::lock_guard<std::mutex> lock(cache_mu_);
  ++reads_;
  if (cache_.count(episode) == 0) {
    recency_.push_front(episode);
    cache_[episode] = {full, recency_.begin()};
    while (static_cast<int64_t>(cache_.size()) > options_.cache_episodes) {
      cache_.erase(recency_.back());
      recency_.pop_back();
    }
  }
  return full;
}

absl::StatusOr<Prompt> DemoPromptSource::Get(uint64_t index) {
  const auto [episode, step] = sampler_.Locate(index);
  VLARFT_ASSIGN_OR_RETURN(std::shared_ptr<const data::Episode> source, EpisodeWithFrames(episode));
  const data::PromptSample s = data::MakePromptSample(*source, episode, step, steps_);
  const data::Episode& e = *source;
  Prompt p;
  p.dataset = dir_;
  p.task = e.task;
  p.episode = s.episode;
  p.step = s.step;
  p.frame = torch::empty({e.size, e.size, 3}, torch::kUInt8);
  std::memcpy(p.frame.data_ptr<uint8_t>(), e.frame(s.step), static_cast<size_t>(e.size) * e.size * 3);
  p.instruction = e.instruction;
  p.proprio = torch::from_blob(const_cast<float*>(e.state(s.step)), {data::kProprioDim}, torch::kFloat32).clone();
  p.expert_actions = torch::from_blob(const_cast<float*>(s.expert_actions.data()), {steps_, data::kActionDim},
                                      torch::kFloat32).clone();
  p.expert_frames = torch::from_blob(const_cast<uint8_t*>(s.expert_frames.data()), {steps_, e.size, e.size, 3},
                                     torch::kUInt8).clone();
  return p;
}

}  // namespace vlarft::rollout
