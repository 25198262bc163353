#include "libs/tabletop/chunk_perturbation.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vlarft::tabletop {
namespace {

struct KindName {
  const char* name;
  ChunkPerturbationKind kind;
};
constexpr KindName kKinds[] = {{"none", ChunkPerturbationKind::kNone},
                               {"gauss", ChunkPerturbationKind::kGauss},
                               {"scale", ChunkPerturbationKind::kScale},
                               {"drift", ChunkPerturbationKind::kDrift},
                               {"gripper_flip", ChunkPerturbationKind::kGripperFlip},
                               {"rotation", ChunkPerturbationKind::kRotation}};

float Clip(double v) { return static_cast<float>(std::clamp(v, -1.0, 1.0)); }

}  // namespace

std::string ChunkPerturbation::KindName() const {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

std::string ChunkPerturbation::Name() const {
  if (kind == ChunkPerturbationKind::kNone) return "none";
  if (kind == ChunkPerturbationKind::kGripperFlip) return absl::StrCat(KindName(), ":", static_cast<int>(magnitude));
  return absl::StrCat(KindName(), ":", absl::StrFormat("%g", magnitude));
}

absl::StatusOr<ChunkPerturbation> ParseChunkPerturbation(const std::string& name) {
  if (name == "none") return ChunkPerturbation{};
  const size_t colon = name.find(':');
  const std::string kind = name.substr(0, colon);
  ChunkPerturbation p;
  bool known = false;
  for (const auto& k : kKinds) {
    if (kind == k.name && k.kind != ChunkPerturbationKind::kNone) p.kind = k.kind, known = true;
  }
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk perturbation '", name, "': unknown kind '", kind,
        "' (none | gauss:σ | scale:s | drift:m | gripper_flip:k | rotation:σ)"));
  }
  if (colon == std::string::npos || !absl::SimpleAtod(name.substr(colon + 1), &p.magnitude) ||
      !std::isfinite(p.magnitude)) {
    return absl::InvalidArgumentError(absl::StrCat("chunk perturbation '", name, "': expected ", kind, ":<number>"));
  }
  const bool needs_non_negative = p.kind == ChunkPerturbationKind::kGauss || p.kind == ChunkPerturbationKind::kDrift ||
                                  p.kind == ChunkPerturbationKind::kRotation;
  if (needs_non_negative && p.magnitude < 0) {
    return absl::InvalidArgumentError(absl::StrCat("chunk perturbation '", name, "': magnitude must be >= 0"));
  }
  if (p.kind == ChunkPerturbationKind::kGripperFlip && (p.magnitude < 1 || p.magnitude != std::floor(p.magnitude))) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk perturbation '", name, "': gripper_flip needs a positive whole number of steps"));
  }
  return p;
}

std::vector<std::string> DefaultChunkPerturbationNames() {
  return {"none",     "gauss:0.1", "gauss:0.25", "gauss:0.5",      "gauss:1",        "scale:0.5",
          "scale:0",  "scale:-0.5", "scale:-1",  "drift:0.25",     "drift:0.5",      "drift:1",
          "gripper_flip:4", "gripper_flip:8",    "rotation:0.5",   "rotation:1"};
}

std::vector<Action> PerturbChunk(const std::vector<Action>& chunk, const ChunkPerturbation& perturbation, Random& rng) {
  std::vector<Action> out = chunk;
  const double m = perturbation.magnitude;
  switch (perturbation.kind) {
    case ChunkPerturbationKind::kNone:
      break;
    case ChunkPerturbationKind::kGauss:
      for (Action& a : out) {
        for (int d = 0; d < 3; ++d) a[d] = Clip(a[d] + m * rng.Normal());
      }
      break;
    case ChunkPerturbationKind::kScale:
      for (Action& a : out) {
        for (int d = 0; d < 3; ++d) a[d] = Clip(m * a[d]);
      }
      break;
    case ChunkPerturbationKind::kDrift: {
      double u[3] = {rng.Normal(), rng.Normal(), rng.Normal()};
      const double norm = std::max(1e-12, std::sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]));
      for (Action& a : out) {
        for (int d = 0; d < 3; ++d) a[d] = Clip(a[d] + m * u[d] / norm);
      }
      break;
    }
    case ChunkPerturbationKind::kGripperFlip: {
      const size_t k = std::min(out.size(), static_cast<size_t>(m));
      for (size_t t = out.size() - k; t < out.size(); ++t) out[t][6] = out[t][6] > 0 ? -1.f : 1.f;
      break;
    }
    case ChunkPerturbationKind::kRotation:
      for (Action& a : out) {
        for (int d = 3; d < 6; ++d) a[d] = static_cast<float>(a[d] + m * rng.Normal());
      }
      break;
  }
  return out;
}

}  // namespace vlarft::tabletop
