// Imagination: batched, KV-cached generation of future frames from a context frame and actions
// (docs/world_model.md, "KV-cached, shared-prefix generation").
//
// A *group* is S sequences (e.g. 16 policy samples + 1 expert reference) that share one context
// frame. Its prompt BOS ctx(o_t) dyn(o_t) is tokenized and prefilled ONCE with batch 1; every
// sequence then appends its own action tokens and samples the next frame's tokens one by one,
// attending to [shared prompt K/V | its own K/V] (kv_cache.h). Nothing already processed is ever
// recomputed: per frame the loop feeds [last token of the previous frame, a_t (7 tokens)] once and
// then one token per step.
//
// Batching: ImagineBatch() runs any number of groups — new ones and continuations of kept
// sessions, of different sizes, horizons and sampling settings — in ONE decode loop, which is what
// the simulator server does with the requests of many callers. Rows of groups with shorter
// horizons ride along until the longest finishes (their extra tokens are discarded).
//
// Sessions: a group can keep its caches (keep_session) and be continued later with further
// actions (closed-loop imagination); the sequences' random streams continue too.
//
// Randomness: sequence i of a new group draws from its own at::Generator seeded with seeds[i]
// (derive them with core::SeedPath); results do not depend on what else is in the batch.
//
// Reference paths (same validation, tokenization, sampling and decoding; only the transformer
// schedule differs) for tests and benchmarks:
//   kUnsharedPrefix     every sequence prefills its own copy of the prompt (no sharing)
//   kRePrefillPerFrame  the reference design: every frame re-runs the whole sequence so far
//                       (batch S, no sharing), then decodes that frame's tokens with a KV cache
//   kFullRecompute      no cache at all: every token re-runs the whole sequence
// All modes produce the same tokens for the same seeds up to floating-point ties.
//
// Thread-safety: an engine runs one call at a time (the server's batching thread owns it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"
#include "libs/models/kv_cache.h"
#include "libs/models/token_sampling.h"
#include "libs/models/tokenizer.h"
#include "libs/models/world_model.h"

namespace vlarft::models {

enum class DecodeMode { kCachedSharedPrefix, kUnsharedPrefix, kRePrefillPerFrame, kFullRecompute };

// The state a kept group needs to continue: its prompt cache, its sequences' caches and the last
// sampled token of each (not yet fed to the model), their random streams and the context frame's
// encoder features (to decode frames). Movable, owned by the caller (the server's session table).
class GroupSession {
 public:
  int64_t sequences() const { return static_cast<int64_t>(generators_.size()); }
  // Future frames imagined so far (the next call continues from o_t+frames).
  int64_t frames() const { return frames_; }
  // Memory held by the caches and features (for the server's KV-cache gauge).
  int64_t Bytes() const;

 private:
  friend class ImaginationEngine;
  PrefixCache prefix_;                        // 1 group
  std::vector<torch::Tensor> keys_, values_;  // per layer [S, heads, length, head_dim]
  int64_t length_ = 0;                        // suffix tokens in the cache
  torch::Tensor pending_;                     // int64 [S]: next token to feed
  std::vector<at::Generator> generators_;
  ContextEncoding context_;                   // the context frame's encoding (future decoding), batch 1
  int64_t frames_ = 0;
};

struct GroupJob {
  // Exactly one of these: a new group's context frame, or a kept session to continue.
  torch::Tensor context_frame;      // uint8 [H, W, 3]
  GroupSession* session = nullptr;  // continued in place

  torch::Tensor actions;            // float [S, T·k, action_dim], environment units, T >= 1 frames
                                    // (k = the model's action_stride; each k steps are one frame)
  std::vector<uint64_t> seeds;      // new group: one per sequence (ignored for continuations)
  SamplingParams sampling;
  bool keep_session = false;        // new group: return a session to continue later
  // Decode each future token as the expectation of its FSQ code under the model's distribution
  // (softmax of the logits, temperature 1) instead of the sampled code: the decoder then draws the
  // mean of what the model predicts, not one draw (or the argmax) of it. Tokens are still sampled and
  // fed back as `sampling` says; `tokens` in the result are those. Off-grid codes are convex
  // combinations of grid points, inside the FSQ box the decoder was trained on
  // (docs/world_model.md, "Expected codes (2026-12-07)").
  bool expected_codes = false;
};

struct GroupResult {
  torch::Tensor frames;  // uint8 [S, T, H, W, 3] (CPU); undefined if decode_frames is off
  torch::Tensor tokens;  // int64 [S, T, future_tokens] future-code indices (CPU)
  torch::Tensor logits;  // float [S, T, future_tokens, codebook] (CPU) with return_logits
  std::unique_ptr<GroupSession> session;  // new groups with keep_session
};

struct GenerationOptions {
  DecodeMode mode = DecodeMode::kCachedSharedPrefix;
  bool decode_frames = true;   // run the tokenizer's future decoder
  bool return_logits = false;  // debugging/tests: the logits each token was sampled from
  // Static shapes (docs/world_model.md, "Static shapes"; cached modes): attention over the whole
  // preallocated suffix cache, and in the shared-prefix mode the batch padded to StaticRowBucket
  // rows (padding rows repeat row 0; their outputs are dropped). Every decode step of a frame
  // position then has the same shapes however far decoding is and however many rows the scheduler
  // holds — the precondition for CUDA-graph replay. Same tokens, logits within float rounding.
  bool static_shapes = false;
};

// The padded row count of a static-shape batch: the next multiple of 8 (a 16-sample group plus its
// reference, 17 rows, runs as 24). One shape, so one captured graph, per bucket.
int64_t StaticRowBucket(int64_t rows);

struct EngineLimits {
  int64_t max_group_size = 64;  // sequences per group
  int64_t decode_batch = 64;    // frames per future-decoder call (bounds activation memory)
  // The dtype of the world model's weights and KV caches in this engine: kFloat32 (as trained) or
  // kBFloat16, which halves the bytes every decode step reads — what bounds a GPU's decode step
  // (docs/world_model.md, "bf16 weights"). Scores, logits and sampling stay float32; the tokenizer
  // stays float32. Create converts the model it is given in place.
  torch::Dtype world_model_dtype = torch::kFloat32;
};

// The seeds of a new group's sequences derived from one request seed (sequence i: child i), as the
// simulator service and the in-process imaginer both derive them, so the two imagine the same frames.
std::vector<uint64_t> SequenceSeeds(uint64_t group_seed, int64_t sequences);

class ImaginationEngine {
 public:
  // FAILED_PRECONDITION when the world model's token geometry does not match the tokenizer or the
  // two live on different devices.
  static absl::StatusOr<ImaginationEngine> Create(VideoTokenizer tokenizer, WorldModel model,
                                                  EngineLimits limits = {});
  static absl::StatusOr<ImaginationEngine> Load(const std::string& tokenizer_stem, const std::string& world_model_stem,
                                                const torch::Device& device, EngineLimits limits = {});

  // Imagines every job in one decode loop. Validation happens first for all jobs: INVALID_ARGUMENT
  // naming the job and field (frame size/dtype, action shape, non-finite actions, seeds count,
  // group size, horizon beyond the model's max_frames, sampling ranges, session misuse).
  absl::StatusOr<std::vector<GroupResult>> ImagineBatch(const std::vector<GroupJob>& jobs,
                                                        const GenerationOptions& options = {});
  // One group.
  absl::StatusOr<GroupResult> Imagine(const GroupJob& job, const GenerationOptions& options = {});
  // The checks ImagineBatch runs first, without imagining: lets a caller (a benchmark sweep, say)
  // reject a bad request before spending time on the good ones.
  absl::Status Validate(const std::vector<GroupJob>& jobs, const GenerationOptions& options = {}) const;

  const VideoTokenizer& tokenizer() const { return tokenizer_; }
  const WorldModel& world_model() const { return model_; }
  const EngineLimits& limits() const { return limits_; }
  torch::Device device() const { return model_->device(); }

 private:
  struct Batch;
  ImaginationEngine(VideoTokenizer tokenizer, WorldModel model, EngineLimits limits)
      : tokenizer_(std::move(tokenizer)), model_(std::move(model)), limits_(limits) {}

  // Tokenizes new groups' context frames into prompts and sessions (prefilled in the shared
  // mode), and gathers every job's rows: action tokens, random draws, sampling parameters.
  Batch Prepare(const std::vector<GroupJob>& jobs, const GenerationOptions& options);
  void DecodeCached(Batch& batch, bool shared_prefix, bool static_shapes);
  void DecodeRePrefill(Batch& batch);
  void DecodeFullRecompute(Batch& batch);
  // Samples the next token of every row from hidden states [B, dim]; records logits if asked.
  torch::Tensor SampleNext(Batch& batch, const torch::Tensor& hidden, int64_t frame, int64_t token);
  std::vector<GroupResult> Finish(Batch& batch, const std::vector<GroupJob>& jobs, const GenerationOptions& options);

  VideoTokenizer tokenizer_;
  WorldModel model_;
  EngineLimits limits_;
};

}  // namespace vlarft::models
