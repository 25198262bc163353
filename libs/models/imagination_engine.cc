#include "libs/models/imagination_engine.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::models {

std::vector<uint64_t> SequenceSeeds(uint64_t group_seed, int64_t sequences) {
  const core::SeedPath root(group_seed);
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < sequences; ++i) seeds.push_back(root.Child(static_cast<uint64_t>(i)).seed());
  return seeds;
}

int64_t GroupSession::Bytes() const {
  int64_t bytes = prefix_.Bytes();
  auto add = [&](const torch::Tensor& t) {
    if (t.defined()) bytes += t.numel() * t.element_size();
  };
  for (size_t i = 0; i < keys_.size(); ++i) {
    add(keys_[i]);
    add(values_[i]);
  }
  for (const torch::Tensor& f : context_.encoder_features) add(f);
  add(context_.image);
  return bytes;
}

// Everything one decode loop works on. Rows of job j are [row_start[j], row_start[j] + sizes[j]).
struct ImaginationEngine::Batch {
  std::vector<std::unique_ptr<GroupSession>> owned;  // sessions of new groups (null for continuations)
  std::vector<GroupSession*> sessions;               // per job
  std::vector<int64_t> row_start, sizes, horizons;   // per job
  std::vector<bool> keep;                            // per job: its caches outlive the call
  int64_t rows = 0;
  int64_t max_frames = 0;
  torch::Tensor prompts;        // int64 [B, prompt_length]: full prompts (reference modes only)
  PrefixCache unshared_prefix;  // kUnsharedPrefix: one prompt copy per row
  torch::Tensor action_tokens;  // int64 [B, max_frames, action_dim], padded with each job's last step
  torch::Tensor uniforms;       // float [B, max_frames, future_tokens]
  RowSampling sampling;
  torch::Tensor tokens;         // int64 [B, max_frames, future_tokens]
  torch::Tensor logits;         // float [B, max_frames, future_tokens, codebook] when recording
  torch::Tensor code_table;     // float [codebook, dims]: every index's FSQ code (expected codes only)
  torch::Tensor expected;       // float [B, max_frames, future_tokens, dims] when a job wants expected codes
};

absl::StatusOr<ImaginationEngine> ImaginationEngine::Create(VideoTokenizer tokenizer, WorldModel model,
                                                            EngineLimits limits) {
  VLARFT_RETURN_IF_ERROR(CheckTokenizerMatches(model->config(), tokenizer->config()));
  if (tokenizer->device() != model->device()) {
    return absl::FailedPreconditionError(absl::StrCat("tokenizer is on ", tokenizer->device().str(),
                                                      " but the world model on ", model->device().str()));
  }
  if (limits.max_group_size < 1 || limits.decode_batch < 1) {
    return absl::InvalidArgumentError("engine limits max_group_size and decode_batch must be >= 1");
  }
  if (limits.world_model_dtype != torch::kFloat32 && limits.world_model_dtype != torch::kBFloat16) {
    return absl::InvalidArgumentError(absl::StrCat("engine world_model_dtype must be float32 or bfloat16, got ",
                                                   c10::toString(limits.world_model_dtype)));
  }
  tokenizer->eval();
  model->eval();
  model->to(limits.world_model_dtype);
  return ImaginationEngine(std::move(tokenizer), std::move(model), limits);
}

absl::StatusOr<ImaginationEngine> ImaginationEngine::Load(const std::string& tokenizer_stem,
                                                          const std::string& world_model_stem,
                                                          const torch::Device& device, EngineLimits limits) {
  VLARFT_ASSIGN_OR_RETURN(VideoTokenizer tokenizer, LoadTokenizer(tokenizer_stem, device));
  VLARFT_ASSIGN_OR_RETURN(WorldModel model, LoadWorldModel(world_model_stem, device));
  absl::StatusOr<ImaginationEngine> engine = Create(std::move(tokenizer), std::move(model), limits);
  if (!engine.ok()) return core::Annotate(engine.status(), absl::StrCat(world_model_stem, " with ", tokenizer_stem));
  return engine;
}

absl::Status ImaginationEngine::Validate(const std::vector<GroupJob>& jobs, const GenerationOptions& options) const {
  if (jobs.empty()) return absl::InvalidArgumentError("no groups to imagine");
  const WorldModelConfig& config = model_->config();
  std::set<const GroupSession*> seen;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const GroupJob& job = jobs[i];
    const std::string name = absl::StrCat("jobs[", i, "]");
    const bool is_new = job.context_frame.defined();
    if (is_new == (job.session != nullptr)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": set exactly one of context_frame (new group) or session"));
    }
    if (is_new) {
      VLARFT_RETURN_IF_ERROR(tokenizer_->CheckFrames(job.context_frame, name + ".context_frame"));
      if (job.context_frame.dim() != 3) {
        return absl::InvalidArgumentError(absl::StrCat("field '", name, ".context_frame' must be [H, W, 3]"));
      }
    } else {
      if (!seen.insert(job.session).second) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": the same session appears twice in one batch"));
      }
      if (job.keep_session) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": keep_session is for new groups (sessions are continued in place)"));
      }
    }
    if (options.mode != DecodeMode::kCachedSharedPrefix && (!is_new || job.keep_session)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": sessions need the cached shared-prefix mode"));
    }
    if (!job.actions.defined() || !job.actions.is_floating_point()) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, ".actions' must be a float tensor [S, T, ",
                                                     config.action_dim, "]"));
    }
    core::TensorExpectation spec;
    spec.shape = {-1, -1, config.action_dim};
    VLARFT_RETURN_IF_ERROR(core::CheckTensor(name + ".actions", job.actions, spec));
    const int64_t sequences = job.actions.size(0), steps = job.actions.size(1);
    if (steps % config.action_stride != 0) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, ".actions': ", steps,
                                                     " steps, but this world model imagines one frame every ",
                                                     config.action_stride, " steps (action_stride)"));
    }
    const int64_t frames = steps / config.action_stride;
    if (sequences < 1 || sequences > limits_.max_group_size) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, ".actions': group size ", sequences,
                                                     " is outside [1, ", limits_.max_group_size, "]"));
    }
    const int64_t done = is_new ? 0 : job.session->frames();
    if (frames < 1 || done + frames > config.max_frames) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, ".actions': horizon of ", frames,
                                                     " frames (after ", done, " already imagined) is outside [1, ",
                                                     config.max_frames - done, "]"));
    }
    if (is_new && static_cast<int64_t>(job.seeds.size()) != sequences) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, ".seeds' has ", job.seeds.size(),
                                                     " seeds for ", sequences, " sequences"));
    }
    if (!is_new && job.session->sequences() != sequences) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, ".actions' has ", sequences,
                                                     " sequences but the session has ", job.session->sequences()));
    }
    VLARFT_RETURN_IF_ERROR(core::Annotate(job.sampling.Validate(), name));
  }
  return absl::OkStatus();
}

ImaginationEngine::Batch ImaginationEngine::Prepare(const std::vector<GroupJob>& jobs,
                                                                    const GenerationOptions& options) {
  const WorldModelConfig& config = model_->config();
  const torch::Device device = model_->device();
  const int64_t frame_tokens = config.future_tokens;
  Batch batch;
  batch.owned.resize(jobs.size());
  batch.sessions.resize(jobs.size());

  // Tokenize every new group's context frame together: ctx(o_t), dyn(o_t) and the context
  // features the future decoder needs.
  std::vector<size_t> fresh;
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (jobs[j].session == nullptr) fresh.push_back(j);
  }
  torch::Tensor prompts;  // [N, prompt_length] for the fresh groups
  if (!fresh.empty()) {
    std::vector<torch::Tensor> frames;
    for (size_t j : fresh) frames.push_back(jobs[j].context_frame);
    const torch::Tensor x = FramesToModel(torch::stack(frames), device);
    const ContextEncoding ctx = tokenizer_->EncodeContext(x);
    const torch::Tensor dyn = tokenizer_->EncodeFuture(x, ctx).second;
    const int64_t n = static_cast<int64_t>(fresh.size());
    prompts = torch::cat({torch::full({n, 1}, config.bos_token(), ctx.indices.options()),
                          ctx.indices + config.context_offset(), dyn + config.future_offset()},
                         1);
    // The shared prefix stops one token short: the last dyn(o_t) token is fed with a_t, so every
    // frame step (new group or continuation) has the same shape [last token, a (A tokens)].
    PrefixCache prefix;
    if (options.mode == DecodeMode::kCachedSharedPrefix) {
      prefix = model_->Prefill(prompts.narrow(1, 0, config.prompt_length() - 1));
    }
    for (int64_t i = 0; i < n; ++i) {
      const GroupJob& job = jobs[fresh[i]];
      auto session = std::make_unique<GroupSession>();
      if (options.mode == DecodeMode::kCachedSharedPrefix) session->prefix_ = prefix.Slice(i, 1);
      session->pending_ = prompts.select(1, config.prompt_length() - 1).narrow(0, i, 1).repeat({job.actions.size(0)});
      for (uint64_t seed : job.seeds) session->generators_.push_back(core::MakeCpuGenerator(seed));
      session->context_ = ctx.Rows(i, 1);
      batch.sessions[fresh[i]] = session.get();
      batch.owned[fresh[i]] = std::move(session);
    }
  }
  std::vector<torch::Tensor> row_prompts, action_tokens, uniforms;
  std::vector<SamplingParams> row_params;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const GroupJob& job = jobs[j];
    if (job.session != nullptr) batch.sessions[j] = job.session;
    GroupSession& session = *batch.sessions[j];
    const int64_t sequences = job.actions.size(0), frames = job.actions.size(1) / config.action_stride;
    batch.row_start.push_back(batch.rows);
    batch.sizes.push_back(sequences);
    batch.horizons.push_back(frames);
    batch.keep.push_back(job.keep_session || job.session != nullptr);
    batch.rows += sequences;
    batch.max_frames = std::max(batch.max_frames, frames);
    for (int64_t s = 0; s < sequences; ++s) row_params.push_back(job.sampling);
    // Validate checked the steps divide into frames.
    action_tokens.push_back(model_->ActionTokens(SumActionSteps(job.actions.to(device), config.action_stride).value()));
    // Each sequence's uniforms come from its own stream, frame by frame, so a continuation draws
    // exactly what a longer single call would have.
    std::vector<torch::Tensor> draws;
    for (int64_t s = 0; s < sequences; ++s) {
      std::vector<torch::Tensor> per_frame;
      for (int64_t t = 0; t < frames; ++t) per_frame.push_back(torch::rand({frame_tokens}, session.generators_[s]));
      draws.push_back(torch::stack(per_frame));
    }
    uniforms.push_back(torch::stack(draws));
    if (options.mode != DecodeMode::kCachedSharedPrefix) {
      const auto it = std::find(fresh.begin(), fresh.end(), j);
      row_prompts.push_back(prompts.narrow(0, it - fresh.begin(), 1).expand({sequences, -1}));
    }
  }
  // Pad shorter horizons by repeating their last step; those rows' extra tokens are discarded.
  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t missing = batch.max_frames - batch.horizons[j];
    if (missing == 0) continue;
    action_tokens[j] = torch::cat({action_tokens[j], action_tokens[j].narrow(1, batch.horizons[j] - 1, 1)
                                                          .expand({-1, missing, -1})},
                                  1);
    uniforms[j] = torch::cat({uniforms[j], torch::full({batch.sizes[j], missing, frame_tokens}, 0.5)}, 1);
  }
  batch.action_tokens = torch::cat(action_tokens, 0);
  batch.uniforms = torch::cat(uniforms, 0).to(device);
  batch.sampling = RowSampling::FromParams(row_params, device);
  batch.tokens = torch::zeros({batch.rows, batch.max_frames, frame_tokens}, torch::TensorOptions(torch::kInt64).device(device));
  if (options.return_logits) {
    batch.logits = torch::zeros({batch.rows, batch.max_frames, frame_tokens, config.codebook_size});
  }
  if (std::any_of(jobs.begin(), jobs.end(), [](const GroupJob& job) { return job.expected_codes; })) {
    const Fsq& fsq = tokenizer_->fsq();
    batch.code_table = fsq.IndicesToCodes(torch::arange(fsq.codebook_size(), torch::TensorOptions(torch::kInt64).device(device)))
                           .to(torch::kFloat32);
    batch.expected = torch::zeros({batch.rows, batch.max_frames, frame_tokens, fsq.dims()},
                                  torch::TensorOptions(torch::kFloat32).device(device));
  }
  if (!row_prompts.empty()) batch.prompts = torch::cat(row_prompts, 0);
  if (options.mode == DecodeMode::kUnsharedPrefix) {
    batch.unshared_prefix = model_->Prefill(batch.prompts.narrow(1, 0, config.prompt_length() - 1));
  }
  return batch;
}

torch::Tensor ImaginationEngine::SampleNext(Batch& batch, const torch::Tensor& hidden, int64_t frame, int64_t token) {
  const torch::Tensor logits = model_->FutureLogits(hidden);
  const torch::Tensor next = SampleTokens(logits, batch.sampling, batch.uniforms.select(1, frame).select(1, token));
  batch.tokens.select(1, frame).select(1, token).copy_(next);
  if (batch.logits.defined()) batch.logits.select(1, frame).select(1, token).copy_(logits.to(torch::kCPU, torch::kFloat32));
  if (batch.expected.defined()) {
    // Static-shape batches carry padding rows beyond batch.rows; they are dropped here.
    const torch::Tensor probs = torch::softmax(logits.narrow(0, 0, batch.rows).to(torch::kFloat32), 1);
    batch.expected.select(1, frame).select(1, token).copy_(probs.matmul(batch.code_table));
  }
  return next;
}

int64_t StaticRowBucket(int64_t rows) { return (rows + 7) / 8 * 8; }

void ImaginationEngine::DecodeCached(Batch& batch, bool shared_prefix, bool static_shapes) {
  const WorldModelConfig& config = model_->config();
  const int64_t per_frame = config.action_dim + config.future_tokens;  // tokens fed per frame
  // Static shapes pad the rows to a bucket with copies of row 0 (shared-prefix mode; the unshared
  // reference mode keeps its rows).
  const int64_t rows = static_shapes && shared_prefix ? StaticRowBucket(batch.rows) : batch.rows;
  const int64_t pad = rows - batch.rows;
  auto row0_copies = [pad](const torch::Tensor& x) {  // [pad, ...] views of x's row 0
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes[0] = pad;
    return x.narrow(0, 0, 1).expand(sizes);
  };
  auto padded = [&](const torch::Tensor& x) { return pad == 0 ? x : torch::cat({x, row0_copies(x)}, 0); };
  RowGroups groups;
  std::vector<const PrefixCache*> prefixes;
  std::vector<int64_t> lengths;
  std::vector<torch::Tensor> pending;
  int64_t longest = 0;
  for (size_t j = 0; j < batch.sessions.size(); ++j) {
    const GroupSession& session = *batch.sessions[j];
    if (shared_prefix) {
      groups.sizes.push_back(batch.sizes[j]);
      prefixes.push_back(&session.prefix_);
    }
    lengths.insert(lengths.end(), batch.sizes[j], session.length_);
    pending.push_back(session.pending_);
    longest = std::max(longest, session.length_);
  }
  if (pad > 0) {  // one more group: the padding rows, on row 0's prefix
    groups.sizes.push_back(pad);
    prefixes.push_back(prefixes.front());
    lengths.insert(lengths.end(), pad, lengths.front());
  }
  const PrefixCache prefix = shared_prefix ? PrefixCache::Concat(prefixes) : batch.unshared_prefix;
  if (!shared_prefix) groups.sizes.assign(batch.rows, 1);
  SuffixCache suffix = model_->NewSuffixCache(rows, longest + batch.max_frames * per_frame, lengths, static_shapes);
  for (size_t j = 0; j < batch.sessions.size(); ++j) {
    const GroupSession& session = *batch.sessions[j];
    for (size_t layer = 0; layer < session.keys_.size(); ++layer) {
      suffix.Load(static_cast<int64_t>(layer), batch.row_start[j], session.keys_[layer], session.values_[layer]);
      if (j == 0 && pad > 0) {
        suffix.Load(static_cast<int64_t>(layer), batch.rows, row0_copies(session.keys_[layer]),
                    row0_copies(session.values_[layer]));
      }
    }
  }
  torch::Tensor last = torch::cat(pending, 0);
  std::vector<torch::Tensor> final_pending(batch.sessions.size());
  for (int64_t t = 0; t < batch.max_frames; ++t) {
    torch::Tensor step = padded(torch::cat({last.unsqueeze(1), batch.action_tokens.select(1, t)}, 1));
    for (int64_t k = 0; k < config.future_tokens; ++k) {
      const torch::Tensor hidden = model_->Extend(step, prefix, groups, suffix);
      last = SampleNext(batch, hidden.select(1, hidden.size(1) - 1).narrow(0, 0, batch.rows), t, k);
      step = padded(last.unsqueeze(1));
    }
    for (size_t j = 0; j < batch.sessions.size(); ++j) {
      if (batch.horizons[j] == t + 1) final_pending[j] = last.narrow(0, batch.row_start[j], batch.sizes[j]).clone();
    }
  }
  // Write back every session that outlives this call (the caches of discarded groups just go).
  for (size_t j = 0; j < batch.sessions.size(); ++j) {
    if (!batch.keep[j]) continue;
    GroupSession& session = *batch.sessions[j];
    const int64_t length = session.length_ + batch.horizons[j] * per_frame;
    session.keys_.resize(config.layers);
    session.values_.resize(config.layers);
    for (int64_t layer = 0; layer < config.layers; ++layer) {
      std::tie(session.keys_[layer], session.values_[layer]) =
          suffix.Extract(layer, batch.row_start[j], batch.sizes[j], length);
    }
    session.length_ = length;
    session.pending_ = final_pending[j];
  }
}

void ImaginationEngine::DecodeRePrefill(Batch& batch) {
  const WorldModelConfig& config = model_->config();
  RowGroups singles;
  singles.sizes.assign(batch.rows, 1);
  torch::Tensor history = batch.prompts;
  for (int64_t t = 0; t < batch.max_frames; ++t) {
    history = torch::cat({history, batch.action_tokens.select(1, t)}, 1);
    torch::Tensor hidden;
    const PrefixCache prefix = model_->Prefill(history, &hidden);  // the whole sequence, every frame
    torch::Tensor last = SampleNext(batch, hidden, t, 0);
    SuffixCache suffix = model_->NewSuffixCache(batch.rows, config.future_tokens);
    for (int64_t k = 1; k < config.future_tokens; ++k) {
      const torch::Tensor h = model_->Extend(last.unsqueeze(1), prefix, singles, suffix);
      last = SampleNext(batch, h.select(1, 0), t, k);
    }
    history = torch::cat({history, batch.tokens.select(1, t) + config.future_offset()}, 1);
  }
}

void ImaginationEngine::DecodeFullRecompute(Batch& batch) {
  const WorldModelConfig& config = model_->config();
  torch::Tensor history = batch.prompts;
  for (int64_t t = 0; t < batch.max_frames; ++t) {
    history = torch::cat({history, batch.action_tokens.select(1, t)}, 1);
    for (int64_t k = 0; k < config.future_tokens; ++k) {
      const torch::Tensor hidden = model_->Hidden(history);
      const torch::Tensor next = SampleNext(batch, hidden.select(1, hidden.size(1) - 1), t, k);
      history = torch::cat({history, (next + config.future_offset()).unsqueeze(1)}, 1);
    }
  }
}

std::vector<GroupResult> ImaginationEngine::Finish(Batch& batch, const std::vector<GroupJob>& jobs,
                                                   const GenerationOptions& options) {
  const TokenizerConfig& tc = tokenizer_->config();
  std::vector<GroupResult> results(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    GroupResult& result = results[j];
    GroupSession& session = *batch.sessions[j];
    const int64_t sequences = batch.sizes[j], frames = batch.horizons[j];
    const torch::Tensor tokens = batch.tokens.narrow(0, batch.row_start[j], sequences).narrow(1, 0, frames);
    result.tokens = tokens.to(torch::kCPU).contiguous();
    if (batch.logits.defined()) {
      result.logits = batch.logits.narrow(0, batch.row_start[j], sequences).narrow(1, 0, frames).contiguous();
    }
    if (options.decode_frames) {
      const torch::Tensor flat = tokens.reshape({sequences * frames, -1});
      const int64_t grid = tc.future_grid();
      torch::Tensor expected;  // [S·T, dims, g, g], laid out as CodesFromIndices lays out grid codes
      if (jobs[j].expected_codes) {
        expected = batch.expected.narrow(0, batch.row_start[j], sequences).narrow(1, 0, frames)
                       .reshape({sequences * frames, grid, grid, -1}).permute({0, 3, 1, 2});
      }
      std::vector<torch::Tensor> images;
      for (int64_t start = 0; start < flat.size(0); start += limits_.decode_batch) {
        const int64_t n = std::min(limits_.decode_batch, flat.size(0) - start);
        const torch::Tensor codes = expected.defined() ? expected.narrow(0, start, n).contiguous()
                                                       : tokenizer_->CodesFromIndices(flat.narrow(0, start, n), grid);
        images.push_back(ModelToFrames(tokenizer_->DecodeFuture(codes, session.context_)));
      }
      result.frames = torch::cat(images, 0).view({sequences, frames, tc.image_size, tc.image_size, 3});
    }
    session.frames_ += frames;
    if (jobs[j].keep_session) result.session = std::move(batch.owned[j]);
  }
  return results;
}

absl::StatusOr<std::vector<GroupResult>> ImaginationEngine::ImagineBatch(const std::vector<GroupJob>& jobs,
                                                                         const GenerationOptions& options) {
  VLARFT_RETURN_IF_ERROR(Validate(jobs, options));
  return core::CatchTorchErrors("imagining", [&]() -> std::vector<GroupResult> {
    torch::NoGradGuard no_grad;
    Batch batch = Prepare(jobs, options);
    switch (options.mode) {
      case DecodeMode::kCachedSharedPrefix:
        DecodeCached(batch, /*shared_prefix=*/true, options.static_shapes);
        break;
      case DecodeMode::kUnsharedPrefix:
        DecodeCached(batch, /*shared_prefix=*/false, options.static_shapes);
        break;
      case DecodeMode::kRePrefillPerFrame:
        DecodeRePrefill(batch);
        break;
      case DecodeMode::kFullRecompute:
        DecodeFullRecompute(batch);
        break;
    }
    return Finish(batch, jobs, options);
  });
}

absl::StatusOr<GroupResult> ImaginationEngine::Imagine(const GroupJob& job, const GenerationOptions& options) {
  VLARFT_ASSIGN_OR_RETURN(std::vector<GroupResult> results, ImagineBatch({job}, options));
  return std::move(results.front());
}

}  // namespace vlarft::models
