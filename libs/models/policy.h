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
  int64_t stem_channels = 0;  // > 0: convolutional stem instead of one patchifying convolution
  bool stem_film = false;      // FiLM the stem's feature maps with the instruction (RT-1 style)
  int64_t stem_keypoints = 0;  // > 0: spatial-softmax keypoints of a stem feature map, one extra token
  int64_t stem_keypoint_stage = -1;  // which stride-2 stage the keypoints read (-1 = stride 4, or the only one)
  int64_t stem_res_blocks = 0;       // residual blocks after each stride-2 convolution of the stem
  bool stem_coords = false;          // CoordConv: x, y coordinate channels next to the RGB input
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
    v.Field("stem_channels", stem_channels,
            "0 = one patch_size x patch_size convolution; > 0 = a convolutional stem (3x3 stride-2 convs "
            "from this many channels, doubling, then 1x1 to dim) that localises objects better");
    v.Field("stem_film", stem_film,
            "with stem_channels > 0: scale and shift every stem feature map by a function of the instruction's "
            "mean word embedding (FiLM, as in RT-1), so the vision tokens already single out the named objects");
    v.Field("stem_keypoints", stem_keypoints,
            "with stem_channels > 0: K spatial-softmax keypoints (expected x, y of K attention maps over the "
            "stride-4 stem features, Levine et al. 2016) projected into one extra context token: sub-patch "
            "object coordinates for precise grasps (0 = off)");
    v.Field("stem_keypoint_stage", stem_keypoint_stage,
            "stride-2 stage (0 = stride 2, 32x32 at 64 px) whose features the keypoints read (-1 = stride 4)");
    v.Field("stem_res_blocks", stem_res_blocks,
            "residual 3x3 blocks after each stride-2 stem convolution (0 = none): depth at full resolution for "
            "telling small objects apart");
    v.Field("stem_coords", stem_coords,
            "with stem_channels > 0: append two channels holding each pixel's x and y in [-1, 1] to the RGB input "
            "(CoordConv, Liu et al. 2018): convolutions are translation-invariant, so without them absolute "
            "positions must be inferred from padding effects");
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
  // Auxiliary SFT target: where (x, y) the gripper next opens or closes, predicted from the pooled
  // context. Only training uses it; it makes the encoder localise the object it must reach.
  bool subgoal_head = false;
  // Hierarchical conditioning: the flow head and the sigma net also see (subgoal - gripper x, y), the
  // vector to where the gripper must go next. At inference the subgoal head supplies it; SFT feeds
  // the demonstration's subgoal with noise (policy_training.subgoal_noise_m), so the controller learns
  // to servo to a point from the first step while the localiser learns to find it.
  bool subgoal_conditioning = false;
  // 0: the subgoal head is linear on the pooled context. > 0: an MLP of this width on the stem's
  // spatial-softmax keypoint coordinates and the mean instruction embedding (the shape of the
  // localisation study's reference CNN head), closer to the pixels than the pooled context.
  int64_t subgoal_hidden = 0;
  // > 0: the subgoal head is an instruction-conditioned heat-map localiser (TargetLocaliser) with
  // this many channels, on the pixels, the instruction and the proprio state, beside the encoder.
  int64_t subgoal_heatmap = 0;
  // > 0 (with subgoal_heatmap): the localiser's query is refined by this many pooled scene
  // channels, so it can tell which part of a two-step instruction is next (target_localiser.h).
  int64_t subgoal_heatmap_scene = 0;

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
    v.Field("subgoal_head", subgoal_head,
            "a linear head on the pooled context that predicts the gripper's (x, y) at its next open/close "
            "(SFT auxiliary loss policy_training.subgoal_weight: it teaches the encoder where the target is)");
    v.Field("subgoal_conditioning", subgoal_conditioning,
            "condition the flow head and sigma net on the vector from the gripper to the subgoal (needs "
            "subgoal_head; inference uses the head's prediction, SFT the demonstration's with noise)");
    v.Field("subgoal_hidden", subgoal_hidden,
            "0 = linear subgoal head on the pooled context; > 0 = MLP of this width on the stem keypoint "
            "coordinates and the mean instruction embedding (needs encoder.stem_keypoints > 0)");
    v.Field("subgoal_heatmap", subgoal_heatmap,
            "0 = off; > 0 = the subgoal head is an instruction-conditioned heat-map localiser of this width: every "
            "position of the frame is scored against a query from the instruction and proprio, the estimate is the "
            "soft-argmax (needs subgoal_head; excludes subgoal_hidden)");
    v.Field("subgoal_heatmap_scene", subgoal_heatmap_scene,
            "0 = off; > 0 (needs subgoal_heatmap) = max- and mean-pooled scene features of this width refine the "
            "heat-map query, so it can see whether the first part of a two-step instruction is done");
  }
  absl::Status Validate() const;
};

// Encoder output shared by the flow head and the sigma net.
struct PolicyContext {
  torch::Tensor tokens;   // [B, N, D]
  torch::Tensor mask;     // [B, N] bool, true = real token
  torch::Tensor pooled;   // [B, D] mean of the action-query outputs
  torch::Tensor proprio;  // [B, proprio_dim] normalised
  // With subgoal_conditioning: the subgoal (x, y) the heads condition on, in the proprio normaliser's
  // units [B, 2]; Encode fills in the subgoal head's prediction. Undefined otherwise.
  torch::Tensor subgoal;
  // What the subgoal head reads. With encoder.stem_keypoints: the keypoint coordinates [B, 2K] and
  // the mean instruction embedding [B, dim], concatenated (for policy.subgoal_hidden). With
  // policy.subgoal_heatmap: the heat-map localiser's estimate itself [B, 2] (not detached).
  torch::Tensor localiser;
  // With policy.subgoal_heatmap: the localiser's heat map [B, h, w], for its training loss. Only
  // Encode sets it; Repeat, Index and Detach leave it out (nothing after encoding needs it).
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

 private:
  PolicyEncoderConfig config_;
  // Vision grid [B, dim, g, g] (`film_input`: the mean instruction embedding [B, dim]); with
  // stem_keypoints also the expected (x, y) in [-1, 1] of each keypoint map, [B, 2K], in `keypoint_xy`.
  torch::Tensor Patchify(const torch::Tensor& frames, const torch::Tensor& film_input, torch::Tensor* keypoint_xy);

  torch::nn::Conv2d patch_embed{nullptr};
  torch::nn::ModuleList stem_convs{nullptr};  // 3x3 stride-2 convolutions, then a 1x1 to dim
  torch::nn::ModuleList stem_film{nullptr};   // per stride-2 convolution: Linear(dim -> 2 * channels)
  torch::nn::ModuleList stem_blocks{nullptr};  // per stride-2 convolution: stem_res_blocks PlainResBlocks
  torch::nn::Conv2d keypoint_maps{nullptr};   // stem features -> K attention logits
  torch::nn::Linear keypoint_proj{nullptr};   // 2K coordinates -> one token
  size_t keypoint_stage_ = 0;                 // which stride-2 stage the keypoints read
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

  // With config().subgoal_head: the predicted next open/close position (x, y) in the proprio
  // normaliser's units (the same as proprio dims 0 and 1) [B, 2].
  torch::Tensor Subgoal(const PolicyContext& context);
  // The subgoal head's training error per row [B] against `target` [B, 2] (the same units): the
  // squared error of the estimate; with `heatmap_expected` and a heat-map head, the mean of that
  // and the expected squared distance under its heat map (TargetLocaliserImpl::TrainingSquaredError),
  // which also penalises a map that splits its mass between two candidates. Needs the context
  // Encode returned.
  torch::Tensor SubgoalSquaredError(const PolicyContext& context, const torch::Tensor& target,
                                    bool heatmap_expected = false);
  // The subgoal head's parameters (linear or MLP; empty without a head).
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
  torch::nn::Linear subgoal{nullptr};  // with config().subgoal_head and subgoal_hidden == 0
  torch::nn::Sequential subgoal_mlp{nullptr};  // with config().subgoal_head and subgoal_hidden > 0
  TargetLocaliser subgoal_localiser{nullptr};  // with config().subgoal_heatmap > 0
  torch::nn::Linear flow_subgoal{nullptr}, sigma_subgoal{nullptr};  // with config().subgoal_conditioning

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
