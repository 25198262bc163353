// The VLA policy (docs/architecture.md, "Models"): an encoder turns (frame, instruction, proprio) into context tokens;
// a DiT flow head predicts the velocity of the action chunk's flow; a sigma net of the same shape
// predicts the per-dimension noise scale that makes sampling stochastic for RL.
//
// Conventions (used everywhere, tested in tests/models/policy_test.cc and tests/rl/):
//   * chunks x are [B, chunk_length, action_dim] in the normalised action space of ActionNormalizer;
//   * flow time τ ∈ [0, 1], τ = 0 is pure noise and τ = 1 the data: x_τ = (1 − τ) ε + τ a, and the
//     velocity target is a − ε; sampling integrates from τ = 0 to τ = 1 in K Euler steps;
//   * log σ = log σ_min + (log σ_max − log σ_min) · (tanh(raw) + 1) / 2.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/action_normalizer.h"
#include "libs/models/checkpoint.h"
#include "libs/models/dit.h"
#include "libs/models/instruction_tokenizer.h"
#include "libs/models/layers.h"
#include "libs/models/target_localiser.h"
#include "libs/models/vision_stem.h"

namespace vlarft::models {

struct PolicyLoraConfig {
  int64_t rank = 0;  // 0 = no LoRA
  double alpha = 0;
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

  template <typename V>
  void VisitFields(V& v) {
    v.Field("rank", rank, "LoRA rank on the encoder's linear layers (0 = none)");
    v.Field("alpha", alpha, "LoRA alpha (scale = alpha / rank)");
    v.Field("targets", targets, "substrings of layer names that get adapters");
  }
};

struct PolicyEncoderConfig {
  int64_t image_size = 64;
  int64_t patch_size = 8;
  VisionStemOptions stem;
  int64_t dim = 128;
  int64_t layers = 3;
  int64_t heads = 4;
  int64_t ffn = 512;
  int64_t max_instruction_tokens = 32;
  int64_t action_queries = 16;
  int64_t vocab_size = 0;  // set from the instruction tokenizer when training starts
  PolicyLoraConfig lora;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("image_size", image_size, "input frames are image_size x image_size RGB");
    v.Field("patch_size", patch_size, "vision patch size");
    v.Field("stem", stem);
    v.Field("dim", dim, "encoder width");
    v.Field("layers", layers, "encoder transformer blocks");
    v.Field("heads", heads, "encoder attention heads");
    v.Field("ffn", ffn, "encoder MLP hidden width");
    v.Field("max_instruction_tokens", max_instruction_tokens, "longest instruction (tokens, incl. BOS)");
    v.Field("action_queries", action_queries, "learnable action query tokens");
    v.Field("vocab_size", vocab_size, "instruction vocabulary size (filled in from the data)");
    v.Field("lora", lora);
  }
};

// The subgoal head: an instruction-conditioned heat-map localiser (TargetLocaliser) beside the
// encoder that predicts where (x, y) the gripper next opens or closes. SFT trains it with an
// auxiliary loss (policy_training.subgoal_weight); the flow head and the sigma net condition on the
// vector from the gripper to its estimate (hierarchical conditioning: SFT feeds the demonstration's
// subgoal with noise, policy_training.subgoal_noise_m, so the controller learns to servo to a point
// from the first step while the localiser learns to find it).
struct SubgoalLocaliserConfig {
  int64_t channels = 0;  // 0 = no subgoal head
  int64_t scene_channels = 0;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("channels", channels,
            "0 = no subgoal head; > 0 = a heat-map localiser of this width: every position of the frame is scored "
            "against a query from the instruction and proprio, the estimate is the soft-argmax, and the flow head "
            "and sigma net condition on the vector from the gripper to it");
    v.Field("scene_channels", scene_channels,
            "0 = off; > 0 (needs channels) = max- and mean-pooled scene features of this width refine the heat-map "
            "query, so it can see whether the first part of a two-step instruction is done");
  }
};

struct PolicyConfig {
  PolicyEncoderConfig encoder;
  DitConfig flow_head;
  DitConfig sigma_net;
  int64_t chunk_length = 8;
  int64_t action_dim = 7;
  int64_t proprio_dim = 8;
  int64_t flow_steps = 10;  // K
  double sigma_min = 0.08;
  double sigma_max = 0.2;
  SubgoalLocaliserConfig subgoal_localiser;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("encoder", encoder);
    v.Field("flow_head", flow_head);
    v.Field("sigma_net", sigma_net);
    v.Field("chunk_length", chunk_length, "actions per chunk");
    v.Field("action_dim", action_dim, "action dimensions");
    v.Field("proprio_dim", proprio_dim, "proprioceptive state dimensions");
    v.Field("flow_steps", flow_steps, "K, Euler steps of the flow at inference");
    v.Field("sigma_min", sigma_min, "smallest SDE noise scale");
    v.Field("sigma_max", sigma_max, "largest SDE noise scale");
    v.Field("subgoal_localiser", subgoal_localiser);
  }
  absl::Status Validate() const;
  bool HasSubgoalHead() const { return subgoal_localiser.channels > 0; }
};

// Encoder output shared by the flow head and the sigma net.
struct PolicyContext {
  torch::Tensor tokens;   // [B, N, D]
  torch::Tensor mask;     // [B, N] bool, true = real token
  torch::Tensor pooled;   // [B, D] mean of the action-query outputs
  torch::Tensor proprio;  // [B, proprio_dim] normalised
  // With a subgoal head: the subgoal (x, y) the heads condition on, in the proprio normaliser's
  // units [B, 2]; Encode fills in the localiser's estimate, detached. Undefined otherwise.
  torch::Tensor subgoal;
  // With a subgoal head: the localiser's estimate itself [B, 2] (not detached), for its losses.
  torch::Tensor localiser;
  // With a subgoal head: the localiser's heat map [B, h, w], for its training loss. Only Encode sets
  // it; Repeat, Index and Detach leave it out (nothing after encoding needs it).
  torch::Tensor localiser_heatmap;
  // The same context repeated `times` per row (row b -> rows b*times .. b*times+times-1).
  PolicyContext Repeat(int64_t times) const;
  // Rows `indices` (int64 [M]) of this context, in that order.
  PolicyContext Index(const torch::Tensor& indices) const;
  PolicyContext Detach() const;
};

// The flow head's and sigma net's cross-attention keys/values of one PolicyContext
// (VlaPolicyImpl::ContextKeys): K flow steps over the same context reuse them.
struct PolicyContextKeys {
  DitContextKeys flow, sigma;
  PolicyContextKeys Repeat(int64_t times) const { return {flow.Repeat(times), sigma.Repeat(times)}; }
};

// One batch of observations as the policy sees them (environment units, raw pixels).
struct PolicyObservation {
  torch::Tensor frames;                   // uint8 [B, H, W, 3]
  std::vector<std::string> instructions;  // B
  torch::Tensor proprio;                  // float [B, proprio_dim], environment units
};

class PolicyEncoderImpl : public torch::nn::Module {
 public:
  explicit PolicyEncoderImpl(const PolicyConfig& config);
  // frames float [B, 3, S, S] in [-1, 1]; ids/mask [B, L]; proprio [B, P] normalised.
  PolicyContext forward(const torch::Tensor& frames, const torch::Tensor& ids, const torch::Tensor& ids_mask,
                        const torch::Tensor& proprio);

  VisionStem stem{nullptr};

 private:
  PolicyEncoderConfig config_;
  torch::Tensor vision_pos_, text_pos_, queries_;
  torch::nn::Embedding text_embed{nullptr};
  torch::nn::Linear proprio_proj{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(PolicyEncoder);

class VlaPolicyImpl : public torch::nn::Module {
 public:
  VlaPolicyImpl(const PolicyConfig& config, InstructionTokenizer tokenizer, ActionNormalizer actions,
                ActionNormalizer proprio);

  // Validates and converts raw observations; INVALID_ARGUMENT names the problem (frame size, unknown
  // instruction words, non-finite proprio, batch mismatch).
  absl::StatusOr<PolicyContext> Encode(const PolicyObservation& observation, bool allow_unknown_words = false);

  // v_θ(x, τ, ctx): [B, C, A]. τ is [B].
  torch::Tensor Velocity(const torch::Tensor& x, const torch::Tensor& tau, const PolicyContext& context,
                         const PolicyContextKeys* keys = nullptr);
  // log σ_ψ(x, τ, ctx): [B, C, A], within [log σ_min, log σ_max].
  torch::Tensor LogSigma(const torch::Tensor& x, const torch::Tensor& tau, const PolicyContext& context,
                         const PolicyContextKeys* keys = nullptr);
  // The context projections Velocity and LogSigma would otherwise recompute in every call; pass them
  // as `keys` (same rows as `context`) to a loop over flow steps. Same values either way.
  PolicyContextKeys ContextKeys(const PolicyContext& context);

  // Flow-matching loss on expert chunks `actions` (normalised) [B, C, A] with given noise and τ.
  torch::Tensor FlowMatchingLoss(const torch::Tensor& actions, const torch::Tensor& noise,
                                 const torch::Tensor& tau, const PolicyContext& context);

  // With a subgoal head (config().HasSubgoalHead()): the predicted next open/close position (x, y)
  // in the proprio normaliser's units (the same as proprio dims 0 and 1) [B, 2].
  torch::Tensor Subgoal(const PolicyContext& context);
  // The subgoal head's training error per row [B] against `target` [B, 2] (the same units): the
  // squared error of the estimate; with `heatmap_expected`, the mean of that and the expected squared
  // distance under its heat map (TargetLocaliserImpl::TrainingSquaredError), which also penalises a
  // map that splits its mass between two candidates. Needs the context Encode returned.
  torch::Tensor SubgoalSquaredError(const PolicyContext& context, const torch::Tensor& target,
                                    bool heatmap_expected = false);
  // The subgoal head's parameters (empty without a head).
  std::vector<torch::Tensor> SubgoalParameters();

  // Which parameters train in RFT (docs/architecture.md, "The math and where it lives"): flow head (incl. its conditioning projectors) and
  // sigma net; the encoder (unless it carries LoRA adapters) and the subgoal head are frozen.
  void FreezeForRft();

  const PolicyConfig& config() const { return config_; }
  const InstructionTokenizer& tokenizer() const { return tokenizer_; }
  const ActionNormalizer& action_normalizer() const { return actions_; }
  const ActionNormalizer& proprio_normalizer() const { return proprio_; }

  PolicyEncoder encoder{nullptr};
  Dit flow_head{nullptr}, sigma_net{nullptr};
  TimeEmbedding flow_time{nullptr}, sigma_time{nullptr};
  torch::nn::Linear flow_proprio{nullptr}, flow_context{nullptr};
  torch::nn::Linear sigma_proprio{nullptr}, sigma_context{nullptr};
  TargetLocaliser subgoal_localiser{nullptr};  // with a subgoal head
  torch::nn::Linear flow_subgoal{nullptr}, sigma_subgoal{nullptr};  // with a subgoal head

 private:
  torch::Tensor Condition(TimeEmbedding& time, torch::nn::Linear& proprio, torch::nn::Linear& pooled,
                          torch::nn::Linear& subgoal_offset, const torch::Tensor& tau, const PolicyContext& context);

  PolicyConfig config_;
  InstructionTokenizer tokenizer_;
  ActionNormalizer actions_;
  ActionNormalizer proprio_;
};
TORCH_MODULE(VlaPolicy);

// Checkpoint I/O: <stem>.safetensors + <stem>.yaml (kind "policy"; config, vocabulary, action and
// proprio statistics in the sidecar). Loading rebuilds the exact architecture from the sidecar.
absl::Status SavePolicy(const std::string& stem, VlaPolicy& policy, int64_t step);
// The sidecar SavePolicy writes (also used by trainers' checkpoints).
ModelSidecar PolicySidecar(VlaPolicy& policy, int64_t step);
absl::StatusOr<VlaPolicy> LoadPolicy(const std::string& stem);

}  // namespace vlarft::models
