// The action-conditioned world model (docs/architecture.md, "Models"; docs/world_model.md): a LLaMA-style decoder-only
// transformer over tokenizer codes and binned actions.
//
// Vocabulary (C = tokenizer codebook size, 4375 for FSQ [7,5,5,5,5]; N = action_bins = 256):
//   [0, C)                 future-frame ("dyn") codes
//   [C, 2C)                context-frame codes
//   [2C, 2C + N)           action bins (shared by all action dimensions; the position says which)
//   2C + N                 BOS
//   2C + N + 1             EOS / PAD
//   size = 2C + N + 2      (9008 for both presets)
//
// Sequence for a context frame o_t and actions a_t, a_t+1, …:
//   BOS ctx(o_t) dyn(o_t) a_t dyn(o_t+1) a_t+1 dyn(o_t+2) …
// ctx(o) is the context grid (hc·wc tokens, row-major), dyn(o) the future grid of o encoded against
// o_t (hf·wf tokens), a_t seven tokens, one per action dimension. Loss: cross-entropy on the dyn
// tokens of o_t+1, o_t+2, … only (everything else is given at inference).
//
// Action binning — the project's single convention (ActionNormalizer, shared with the policy):
//   n = clip(2 (a − min) / (max − min) − 1, −1, 1)        per dimension, environment units in
//   bin = min(floor((n + 1) / 2 · 256), 255)               token = 2C + bin
// with min/max the per-dimension statistics of the training demonstrations, stored in the
// checkpoint sidecar (extra.action_stats).
//
// Parameter names follow Hugging Face Llama (embed_tokens, layers.N.self_attn.q_proj, …, norm,
// lm_head), so a HF checkpoint maps by stripping its "model." prefix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/action_normalizer.h"
#include "libs/models/checkpoint.h"
#include "libs/models/kv_cache.h"
#include "libs/models/layers.h"
#include "libs/models/tokenizer.h"

namespace vlarft::models {

struct WorldModelConfig {
  int64_t layers = 4;
  int64_t dim = 192;
  int64_t heads = 4;
  int64_t ffn = 512;
  double rope_base = 10000.0;
  // Token geometry; must match the tokenizer the model is trained with (CheckTokenizer).
  int64_t codebook_size = 4375;
  int64_t context_tokens = 256;
  int64_t future_tokens = 16;
  int64_t action_dim = 7;
  int64_t action_bins = 256;
  int64_t max_frames = 64;  // longest imagination (future frames after o_t) a sequence may reach
  // Smooth action input (docs/world_model.md, "Action values"): 0 = each action bin is its own
  // embedding row (the committed tiny model); K > 0 adds, to every action token's embedding, a
  // learned projection of Fourier features of its bin centre (the value itself and sin/cos at K
  // octaves), so neighbouring bins start from related inputs. The projection starts at zero.
  int64_t action_features = 0;
  // With action_features > 0: action tokens enter through the projection alone (their table rows
  // are not read), so the model cannot tell neighbouring bins apart except by their values.
  bool action_values_only = false;
  // Environment steps per imagined frame (docs/world_model.md, "Frames a chunk apart"): 1 = every
  // step is a frame (the committed tiny model); k > 1 imagines the state k steps on from the k
  // steps' actions summed into one action (SumActionSteps), so a chunk of C steps is C / k frames
  // and nothing the model imagined is fed back inside one.
  int64_t action_stride = 1;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("layers", layers, "transformer blocks");
    v.Field("dim", dim, "hidden width");
    v.Field("heads", heads, "attention heads");
    v.Field("ffn", ffn, "SwiGLU hidden width");
    v.Field("rope_base", rope_base, "rotary embedding base");
    v.Field("codebook_size", codebook_size, "tokenizer codebook size (FSQ levels product)");
    v.Field("context_tokens", context_tokens, "tokens per context frame (context grid h*w)");
    v.Field("future_tokens", future_tokens, "tokens per future frame (future grid h*w)");
    v.Field("action_dim", action_dim, "action dimensions (one token each)");
    v.Field("action_bins", action_bins, "bins per action dimension");
    v.Field("max_frames", max_frames, "largest number of imagined frames per sequence");
    v.Field("action_features", action_features,
            "octaves of sin/cos features of each action value added to its token's embedding (0 = bins only)");
    v.Field("action_values_only", action_values_only,
            "action tokens are embedded from their values alone, not their bins' table rows (needs action_features > 0)");
    v.Field("action_stride", action_stride,
            "environment steps per imagined frame; their actions enter summed (the gripper's last command)");
  }
  absl::Status Validate() const;

  // Token-id layout (see the file comment).
  int64_t future_offset() const { return 0; }
  int64_t context_offset() const { return codebook_size; }
  int64_t action_offset() const { return 2 * codebook_size; }
  int64_t bos_token() const { return 2 * codebook_size + action_bins; }
  int64_t pad_token() const { return bos_token() + 1; }
  int64_t vocab_size() const { return bos_token() + 2; }
  // BOS ctx dyn(o_t).
  int64_t prompt_length() const { return 1 + context_tokens + future_tokens; }
  // a_t dyn(o_t+1).
  int64_t frame_stride() const { return action_dim + future_tokens; }
  int64_t SequenceLength(int64_t frames) const { return prompt_length() + frames * frame_stride(); }
  int64_t head_dim() const { return dim / heads; }
  // Width of an action token's value features: the value, then sin and cos per octave.
  int64_t action_feature_width() const { return action_features == 0 ? 0 : 1 + 2 * action_features; }
};

// The actions of k consecutive environment steps as one: float [..., T·k, A] -> [..., T, A], every
// dimension summed over its k steps (positions and rotations are deltas) except the last, the
// gripper, which is a command and keeps its last value. k = 1 returns `actions`. INVALID_ARGUMENT
// if T·k is not a multiple of k.
absl::StatusOr<torch::Tensor> SumActionSteps(const torch::Tensor& actions, int64_t k);

// The config with its token geometry taken from `tokenizer`.
WorldModelConfig WithTokenizerGeometry(WorldModelConfig config, const TokenizerConfig& tokenizer);
// FAILED_PRECONDITION naming the mismatch if the world model cannot consume this tokenizer's tokens.
absl::Status CheckTokenizerMatches(const WorldModelConfig& config, const TokenizerConfig& tokenizer);

class WorldModelImpl : public torch::nn::Module {
 public:
  WorldModelImpl(const WorldModelConfig& config, ActionNormalizer actions);

  const WorldModelConfig& config() const { return config_; }
  const ActionNormalizer& action_normalizer() const { return actions_; }
  torch::Device device() const;

  // Full causal pass over tokens int64 [B, L] at positions 0..L−1: final-norm hidden [B, L, dim].
  torch::Tensor Hidden(const torch::Tensor& tokens);
  // lm_head over hidden states [..., dim] -> logits [..., vocab].
  torch::Tensor Logits(const torch::Tensor& hidden) { return lm_head(hidden); }
  torch::Tensor forward(const torch::Tensor& tokens) { return Logits(Hidden(tokens)); }
  // Input embeddings of tokens int64 [...]: [..., dim] (the token's row, plus its action-value
  // projection when the model has one).
  torch::Tensor Embed(const torch::Tensor& tokens);
  // Sets the action-value projection to the least-squares fit of the action bins' table rows: the
  // smooth part of what a bins-only model learned, the start of a run that switches to values only.
  void FitActionValuesToTable();
  // Logits of the future-frame codes only ([..., codebook_size]; index = code), the only ids that
  // can follow inside a frame: what generation samples from and the loss scores.
  torch::Tensor FutureLogits(const torch::Tensor& hidden);

  // KV-cached decoding. Prefill runs the prompts int64 [G, P] once and returns their caches; the
  // final-norm hidden state of each prompt's last token goes to `last_hidden` ([G, dim]) if given.
  PrefixCache Prefill(const torch::Tensor& tokens, torch::Tensor* last_hidden = nullptr);
  // Appends tokens int64 [B, Lq] to every row (row groups index `prefix`'s groups) and returns the
  // final-norm hidden states [B, Lq, dim] of the new tokens. Never recomputes earlier tokens.
  torch::Tensor Extend(const torch::Tensor& tokens, const PrefixCache& prefix, const RowGroups& groups,
                       SuffixCache& suffix);
  // An empty suffix cache for `rows` rows with room for `capacity` tokens (lengths all 0, or
  // `lengths`); `static_window`: see SuffixCache.
  SuffixCache NewSuffixCache(int64_t rows, int64_t capacity, std::vector<int64_t> lengths = {},
                             bool static_window = false) const;

  // ---- sequence construction ----
  // Environment-unit actions [..., action_dim] -> token ids [..., action_dim] (see binning above).
  torch::Tensor ActionTokens(const torch::Tensor& actions) const;
  // BOS ctx dyn_0 a_0 dyn_1 … a_{T-1} dyn_T from ctx codes [B, C], dyn codes [B, T+1, F] and
  // action tokens [B, T, A] (already offset): int64 [B, SequenceLength(T)].
  torch::Tensor BuildSequence(const torch::Tensor& context_codes, const torch::Tensor& dyn_codes,
                              const torch::Tensor& action_tokens) const;
  // Positions whose next token is a future-frame token to predict (dyn of o_t+1 … o_t+T), i.e. the
  // inputs of the loss, and the matching targets (codes in [0, C)): int64 [T·F] each.
  std::pair<torch::Tensor, torch::Tensor> LossPositions(int64_t frames) const;
  // Mean cross-entropy of predicting every future-frame token of `sequence` [B, SequenceLength(T)].
  // Cross-entropy of the future tokens of `frames` frames; with `weights` ([B, frames *
  // future_tokens]) a weighted mean, sum(w * ce) / sum(w).
  torch::Tensor FutureTokenLoss(const torch::Tensor& sequence, int64_t frames, const torch::Tensor& weights = {});

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::Linear action_values{nullptr};  // only with config.action_features > 0
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  LoraLinear lm_head{nullptr};

 private:
  TransformerBlockImpl& Layer(int64_t i) { return *layers[i]->as<TransformerBlockImpl>(); }

  WorldModelConfig config_;
  ActionNormalizer actions_;
  Rotary rotary_;
};
TORCH_MODULE(WorldModel);

// Checkpoint I/O: <stem>.safetensors + <stem>.yaml (kind "world_model"; config and action
// statistics in the sidecar). Loading checks the sidecar before building or loading anything.
ModelSidecar WorldModelSidecar(const WorldModel& model, int64_t step);
// Fourier features of normalised action values c in [-1, 1]: [..., 1 + 2K] = c, sin(2^j·π·c),
// cos(2^j·π·c) for j < K.
torch::Tensor ActionValueFeatures(const torch::Tensor& values, int64_t octaves);
absl::Status SaveWorldModel(const std::string& stem, const WorldModel& model, int64_t step,
                            torch::Dtype storage_dtype = torch::kFloat32);
absl::StatusOr<WorldModel> LoadWorldModel(const std::string& stem, const torch::Device& device);

}  // namespace vlarft::models
