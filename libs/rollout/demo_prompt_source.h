// The production PromptSource: prompts drawn from LIBERO-layout demonstrations (libs/data).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>

#include "libs/data/demo_dataset.h"
#include "libs/data/prompts.h"
#include "libs/rollout/prompt.h"

namespace vlarft::rollout {

struct DemoPromptSourceOptions {
  // Hold only an index in memory (lengths, actions, proprio) and read an episode's frames from its
  // file when a prompt needs them, keeping the `cache_episodes` most recently used episodes. A
  // dataset of any size then fits a worker's memory; without it every frame of every episode is
  // loaded up front (what the real-simulator backend needs, to check replays against them).
  bool stream_frames = false;
  int64_t cache_episodes = 32;
};

class DemoPromptSource : public PromptSource {
 public:
  // Loads `dir` at `image_size`; `steps` = chunk_length * horizon expert actions per prompt.
  static absl::StatusOr<std::unique_ptr<DemoPromptSource>> Load(const std::string& dir,
                                                                const std::vector<std::string>& suites, int image_size,
                                                                uint64_t split_seed, double validation_fraction,
                                                                int64_t steps, DemoPromptSourceOptions options = {});
  // Thread-safe. A streamed episode whose file changed or broke since loading is an error of this
  // prompt only (DATA_LOSS / INVALID_ARGUMENT naming the file).
  absl::StatusOr<Prompt> Get(uint64_t index) override;
  size_t episodes() const { return dataset_->episodes.size(); }
  // The loaded demonstrations (what a real-simulator backend replays prompts from). Streamed: an
  // index whose episodes have no frames.
  const data::DemoDataset& dataset() const { return *dataset_; }
  // Episode reads from files so far (streamed only): how well the cache serves the prompts.
  int64_t episode_reads() const;

 private:
  DemoPromptSource(std::unique_ptr<data::DemoDataset> dataset, data::PromptSampler sampler, int64_t steps,
                   std::string dir, DemoPromptSourceOptions options)
      : dataset_(std::move(dataset)),
        sampler_(std::move(sampler)),
        steps_(steps),
        dir_(std::move(dir)),
        options_(options) {}
  // The episode with its frames: from the dataset, or (streamed) from the cache or its file.
  absl::StatusOr<std::shared_ptr<const data::Episode>> EpisodeWithFrames(int64_t episode);

  std::unique_ptr<data::DemoDataset> dataset_;
  data::PromptSampler sampler_;
  int64_t steps_;
  std::string dir_;
  DemoPromptSourceOptions options_;

  mutable std::mutex cache_mu_;
  std::list<int64_t> recency_;  // most recently used first
  std::map<int64_t, std::pair<std::shared_ptr<const data::Episode>, std::list<int64_t>::iterator>> cache_;
  int64_t reads_ = 0;
};

}  // namespace vlarft::rollout
