#include "libs/tabletop/policies.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/tabletop/random.h"

namespace vlarft::tabletop {
namespace {

class ExpertPolicy : public Policy {
 public:
  ExpertPolicy(const std::vector<const TabletopEnv*>* envs, ExpertOptions options) : envs_(envs), options_(options) {}
  std::string name() const override {
    if (options_.noise <= 0 && options_.pause_prob <= 0) return "scripted-expert";
    return absl::StrFormat("scripted-expert (noise %g, pauses %g)", options_.noise, options_.pause_prob);
  }

  absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) override {
    std::vector<ActionChunk> out;
    out.reserve(observations.size());
    for (const Observation& o : observations) {
      if (o.episode < 0 || o.episode >= static_cast<int>(envs_->size())) {
        return absl::InvalidArgumentError(absl::StrCat("scripted expert: no environment for episode ", o.episode));
      }
      if (experts_.size() < envs_->size()) experts_.resize(envs_->size());
      std::unique_ptr<ScriptedExpert>& expert = experts_[o.episode];
      if (o.step == 0 || expert == nullptr) expert = std::make_unique<ScriptedExpert>(options_, static_cast<uint64_t>(o.episode));
      out.push_back({expert->Act(*(*envs_)[o.episode])});
    }
    return out;
  }

 private:
  const std::vector<const TabletopEnv*>* envs_;
  ExpertOptions options_;
  std::vector<std::unique_ptr<ScriptedExpert>> experts_;
};

class RandomPolicy : public Policy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  std::string name() const override { return "random"; }
  absl::StatusOr<std::vector<ActionChunk>> ActBatch(const std::vector<Observation>& observations) override {
    std::vector<ActionChunk> out(observations.size(), ActionChunk(8));
    for (ActionChunk& chunk : out) {
      for (Action& a : chunk) {
        for (float& v : a) v = static_cast<float>(rng_.Uniform(-1, 1));
      }
    }
    return out;
  }

 private:
  Random rng_;
};

}  // namespace

std::unique_ptr<Policy> MakeExpertPolicy(const std::vector<const TabletopEnv*>* envs, ExpertOptions options) {
  return std::make_unique<ExpertPolicy>(envs, options);
}

std::unique_ptr<Policy> MakeRandomPolicy(uint64_t seed) { return std::make_unique<RandomPolicy>(seed); }

}  // namespace vlarft::tabletop
