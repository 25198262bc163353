#include "studies/reward_study.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/core/rng.h"
#include "libs/core/status.h"
#include "libs/reward/reward.h"
#include "libs/reward/tokenizer_features.h"
#include "libs/tabletop/chunk_outcome.h"
#include "libs/tabletop/expert.h"
#include "libs/tabletop/tasks.h"
#include "libs/viz/bar_chart.h"

namespace vlarft::studies {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Every failure ranks below every success: delays are shorter than the longest budget (160 steps).
constexpr double kFailureProgress = -1000.0;
constexpr int kMaxAttemptsPerState = 50;

struct SampledState {
  StudyState info;
  std::vector<uint8_t> context;                        // [H, W, 3]
  std::vector<tabletop::Action> expert_chunk;          // [T]
  std::vector<uint8_t> expert_frames;                  // [T, H, W, 3]
  std::vector<std::vector<tabletop::Action>> chunks;   // [M][T]
  std::vector<tabletop::ChunkOutcome> outcomes;        // [M], with frames
};

absl::Status Validate(const RewardStudyOptions& o) {
  if (o.states < 2) return absl::InvalidArgumentError("--states must be >= 2 (correlations need several groups)");
  if (o.perturbations.size() < 2) return absl::InvalidArgumentError("--perturbations needs at least 2 entries");
  if (o.chunk < 1) return absl::InvalidArgumentError("--chunk must be >= 1");
  if (o.states_per_batch < 1) return absl::InvalidArgumentError("--states_per_batch must be >= 1");
  if (o.bootstrap < 1) return absl::InvalidArgumentError("--bootstrap must be >= 1");
  if (o.on_time_slack < 0) return absl::InvalidArgumentError("--on_time_slack must be >= 0");
  if (o.expert_noise < 0 || o.expert_pause_prob < 0 || o.expert_pause_prob > 1) {
    return absl::InvalidArgumentError("--expert_noise must be >= 0 and --expert_pause_prob in [0, 1]");
  }
  if (o.distances.empty()) return absl::InvalidArgumentError("--distances must name at least one distance");
  return absl::OkStatus();
}

absl::StatusOr<SampledState> SampleState(const std::vector<const tabletop::Task*>& tasks,
                                         const std::vector<tabletop::ChunkPerturbation>& perturbations,
                                         const RewardStudyOptions& o, int64_t index, int size) {
  tabletop::Random rng(core::SeedPath(o.seed).Child("state").Child(static_cast<uint64_t>(index)).seed());
  const tabletop::ExpertOptions expert_options{o.expert_noise, o.expert_pause_prob};
  const int chunk = static_cast<int>(o.chunk);
  for (int attempt = 0; attempt < kMaxAttemptsPerState; ++attempt) {
    const tabletop::Task& task = *tasks[rng.UniformInt(static_cast<int>(tasks.size()))];
    const uint64_t layout_seed = rng.Next();
    tabletop::TabletopEnv env(task, layout_seed);
    tabletop::ScriptedExpert expert(expert_options, layout_seed);
    int length = 0;
    {  // The whole expert episode first: states come from episodes the expert solves.
      tabletop::TabletopEnv e = env;
      tabletop::ScriptedExpert x = expert;
      while (!e.done()) e.Step(x.Act(e));
      if (!e.success()) continue;
      length = e.steps();
    }
    const int start = rng.UniformInt(std::max(1, length - chunk + 1));
    for (int t = 0; t < start; ++t) env.Step(expert.Act(env));
    SampledState s;
    s.info = {task.name, layout_seed, start, length, task.max_steps};
    s.context = env.Render(size);
    s.expert_chunk = tabletop::ExpertChunk(env, expert, chunk, size, &s.expert_frames);
    for (size_t i = 0; i < perturbations.size(); ++i) {
      tabletop::Random prng(core::SeedPath(o.seed).Child("perturb").Child(static_cast<uint64_t>(index)).Child(i).seed());
      s.chunks.push_back(tabletop::PerturbChunk(s.expert_chunk, perturbations[i], prng));
      s.outcomes.push_back(tabletop::ExecuteChunkThenExpert(env, expert, s.chunks.back(), size));
    }
    return s;
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "state %d: the scripted expert failed %d episodes in a row (expert_noise %.3g too high?)", index,
      kMaxAttemptsPerState, o.expert_noise));
}

torch::Tensor ChunksTensor(const std::vector<std::vector<tabletop::Action>>& chunks) {
  const int64_t m = static_cast<int64_t>(chunks.size()), t = static_cast<int64_t>(chunks[0].size());
  torch::Tensor out = torch::empty({m, t, 7}, torch::kFloat32);
  float* p = out.data_ptr<float>();
  for (const auto& chunk : chunks) {
    for (const tabletop::Action& a : chunk) p = std::copy(a.begin(), a.end(), p);
  }
  return out;
}

torch::Tensor FramesTensor(const std::vector<uint8_t>& pixels, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<uint8_t*>(pixels.data()), shape, torch::kUInt8).clone();
}

// Real frames of the M chunks: uint8 [M, T, H, W, 3].
torch::Tensor RealFrames(const SampledState& s, int64_t t, int64_t size) {
  std::vector<torch::Tensor> frames;
  for (const tabletop::ChunkOutcome& o : s.outcomes) frames.push_back(FramesTensor(o.frames, {t, size, size, 3}));
  return torch::stack(frames);
}

std::vector<double> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// One reward scorer per distance, with the column names it produces.
struct DistanceScorer {
  std::string distance;
  std::unique_ptr<reward::RewardScorer> scorer;
};

absl::StatusOr<std::vector<DistanceScorer>> MakeScorers(models::ImaginationEngine& engine, const RewardStudyOptions& o) {
  std::shared_ptr<reward::MultiScaleFeatureExtractor> features =
      std::make_shared<reward::TokenizerFeatureExtractor>(engine.tokenizer());
  std::vector<DistanceScorer> out;
  for (const std::string& distance : o.distances) {
    reward::RewardConfig config;
    config.w_l1 = o.w_l1;
    config.w_perceptual = o.w_perceptual;
    config.aggregation = o.aggregation;
    config.gamma = o.gamma;
    config.perceptual = distance;
    config.lpips_weights = o.lpips_weights;
    config.device = engine.device().str();
    absl::StatusOr<std::unique_ptr<reward::RewardScorer>> scorer = reward::RewardScorer::Create(config, features);
    if (!scorer.ok()) {
      return absl::Status(scorer.status().code(),
                          absl::StrCat("--distances entry '", distance, "': ", scorer.status().message()));
    }
    out.push_back({distance, std::move(*scorer)});
  }
  return out;
}

// Rewards of one state's M chunks, appended to `rewards` (columns in report order).
absl::Status ScoreState(const SampledState& s, const torch::Tensor& imagined, std::vector<DistanceScorer>& scorers,
                        int64_t size, std::vector<StudyColumn>& rewards, int64_t state) {
  const int64_t m = static_cast<int64_t>(s.chunks.size()), t = static_cast<int64_t>(s.expert_chunk.size());
  const torch::Tensor real = RealFrames(s, t, size);
  const torch::Tensor expert_real = FramesTensor(s.expert_frames, {t, size, size, 3});
  const torch::Tensor imagined_chunks = imagined.narrow(0, 0, m);
  const torch::Tensor imagined_expert = imagined[m];
  size_t column = 0;
  auto put = [&](const torch::Tensor& values) { rewards[column++].values[state] = ToVector(values); };
  VLARFT_ASSIGN_OR_RETURN(reward::RewardBreakdown type1,
                          scorers[0].scorer->ScoreActions(ChunksTensor(s.chunks), ChunksTensor({s.expert_chunk})[0]));
  put(type1.rewards);
  for (DistanceScorer& d : scorers) {
    std::vector<reward::RewardRequest> requests(3);
    requests[0].type = reward::RewardType::kImaginedVsReal;
    requests[0].frames = imagined_chunks, requests[0].reference_frames = expert_real;
    requests[1].type = reward::RewardType::kImaginedVsImaginedExpert;
    requests[1].frames = imagined_chunks, requests[1].reference_frames = imagined_expert;
    requests[2].type = reward::RewardType::kImaginedVsReal;  // a perfect world model: real frames both sides
    requests[2].frames = real, requests[2].reference_frames = expert_real;
    VLARFT_ASSIGN_OR_RETURN(std::vector<reward::RewardBreakdown> scored, d.scorer->ScoreBatch(requests));
    for (const reward::RewardBreakdown& b : scored) put(b.rewards);
  }
  return absl::OkStatus();
}

std::vector<StudyColumn> RewardColumns(const RewardStudyOptions& o, int64_t states) {
  std::vector<StudyColumn> columns;
  columns.push_back({"type1", "-L1 between the chunk and the expert chunk (no world model)", {}});
  for (const std::string& d : o.distances) {
    columns.push_back({"type2/" + d, "imagined frames vs the real frames of the expert chunk, D_p = " + d, {}});
    columns.push_back({"type3/" + d, "imagined frames vs imagined frames of the expert chunk, D_p = " + d, {}});
    columns.push_back({"real/" + d, "real frames vs real frames of the expert chunk (perfect world model), D_p = " + d, {}});
  }
  for (StudyColumn& c : columns) c.values.resize(states);
  return columns;
}

std::vector<StudyColumn> TruthColumns(const std::vector<SampledState>& states, int64_t slack) {
  StudyColumn success{"success", "solved within the task's step budget", {}};
  StudyColumn on_time{"on_time", absl::StrFormat("solved within the expert's own steps + %d", slack), {}};
  StudyColumn progress{"progress", "-(steps - expert's steps) when solved; failures tied below all successes", {}};
  for (const SampledState& s : states) {
    std::vector<double> a, b, c;
    for (const tabletop::ChunkOutcome& o : s.outcomes) {
      a.push_back(o.success ? 1 : 0);
      b.push_back(o.success && o.steps <= s.info.expert_steps + slack ? 1 : 0);
      c.push_back(o.success ? -static_cast<double>(o.steps - s.info.expert_steps) : kFailureProgress);
    }
    success.values.push_back(a), on_time.values.push_back(b), progress.values.push_back(c);
  }
  return {success, on_time, progress};
}

bool IsBinary(const StudyColumn& truth) { return truth.name != "progress"; }

std::optional<double> PooledAuroc(const reward::GroupedPairs& data, const std::vector<int64_t>& groups) {
  std::vector<double> scores;
  std::vector<bool> positive;
  for (int64_t g : groups) {
    scores.insert(scores.end(), data.x[g].begin(), data.x[g].end());
    for (double y : data.y[g]) positive.push_back(y > 0.5);
  }
  return reward::Auroc(scores, positive);
}

CorrelationResult Summarise(int64_t groups, const std::function<std::optional<double>(const std::vector<int64_t>&)>& stat,
                            int64_t resamples, uint64_t seed) {
  CorrelationResult r;
  r.value = stat(reward::AllGroups(groups));
  if (r.value) r.ci = reward::ClusterBootstrap(groups, stat, resamples, seed);
  return r;
}

// Mean within-state rank (1 = best; ties share) per chunk index, for each column.
std::vector<std::vector<double>> MeanRanks(const std::vector<StudyColumn>& columns) {
  std::vector<std::vector<double>> out;
  for (const StudyColumn& c : columns) {
    std::vector<double> sum(c.values[0].size(), 0.0);
    for (const std::vector<double>& group : c.values) {
      std::vector<double> negated;
      for (double v : group) negated.push_back(-v);
      const std::vector<double> ranks = reward::AverageRanks(negated);
      for (size_t i = 0; i < ranks.size(); ++i) sum[i] += ranks[i] / static_cast<double>(c.values.size());
    }
    out.push_back(sum);
  }
  return out;
}

viz::Image FramesRow(const std::vector<uint8_t>& context, const torch::Tensor& frames, int size,
                     const std::string& caption) {
  std::vector<viz::Image> tiles{viz::Image::FromPixels(size, size, context.data())};
  const torch::Tensor f = frames.contiguous();
  for (int64_t k = 0; k < f.size(0); ++k) {
    tiles.push_back(viz::Image::FromPixels(size, size, f[k].contiguous().data_ptr<uint8_t>()));
  }
  return viz::WithCaption(viz::Strip(tiles, /*gap=*/2, /*scale=*/2), caption);
}

std::string OutcomeText(const tabletop::ChunkOutcome& o, const StudyState& s) {
  if (!o.success) return absl::StrFormat("FAILED within %d steps", s.max_steps);
  return absl::StrFormat("solved, %+d steps vs expert", o.steps - s.expert_steps);
}

// Context | frames 1..T rows: the expert chunk and each example perturbation, real and imagined.
viz::Image ExampleImage(const SampledState& s, const torch::Tensor& imagined, const RewardStudyReport& report,
                        const std::vector<std::string>& examples, int64_t state, int size) {
  const int64_t m = static_cast<int64_t>(s.chunks.size()), t = static_cast<int64_t>(s.expert_chunk.size());
  const torch::Tensor real = RealFrames(s, t, size);
  auto reward_text = [&](int64_t chunk) {
    std::vector<std::string> parts;
    for (const StudyColumn& c : report.rewards) {
      if (c.name == "type1" || c.name.rfind("type3/", 0) == 0 || c.name.rfind("type2/", 0) == 0) {
        parts.push_back(absl::StrFormat("%s %.3f", c.name, c.values[state][chunk]));
      }
      if (parts.size() >= 3) break;
    }
    return absl::StrJoin(parts, "  ");
  };
  std::vector<viz::Image> rows;
  rows.push_back(FramesRow(s.context, FramesTensor(s.expert_frames, {t, size, size, 3}), size,
                           absl::StrFormat("%s, step %d: expert chunk, REAL", s.info.task, s.info.start_step)));
  rows.push_back(FramesRow(s.context, imagined[m], size, "expert chunk, IMAGINED (type-3 reference)"));
  for (const std::string& name : examples) {
    const auto it = std::find(report.perturbations.begin(), report.perturbations.end(), name);
    if (it == report.perturbations.end()) continue;
    const int64_t i = it - report.perturbations.begin();
    rows.push_back(FramesRow(s.context, real[i], size,
                             absl::StrFormat("%s REAL: %s", name, OutcomeText(s.outcomes[i], s.info))));
    rows.push_back(FramesRow(s.context, imagined[i], size, absl::StrFormat("%s IMAGINED: %s", name, reward_text(i))));
  }
  int width = 0, height = 0;
  for (const viz::Image& r : rows) width = std::max(width, r.width()), height += r.height() + 6;
  viz::Image out(width, height);
  int y = 0;
  for (const viz::Image& r : rows) out.Paste(r, 0, y), y += r.height() + 6;
  return out;
}

std::string Interval(const CorrelationResult& r) {
  if (!r.value) return "n/a";
  if (!r.ci) return absl::StrFormat("%.2f", *r.value);
  return absl::StrFormat("%.2f [%.2f, %.2f]", *r.value, r.ci->low, r.ci->high);
}

nlohmann::json CorrelationJson(const CorrelationResult& r) {
  nlohmann::json j;
  j["value"] = r.value ? nlohmann::json(*r.value) : nlohmann::json(nullptr);
  j["ci95"] = r.ci ? nlohmann::json::array({r.ci->low, r.ci->high}) : nlohmann::json(nullptr);
  j["valid_resamples"] = r.ci ? r.ci->valid_resamples : 0;
  return j;
}

}  // namespace

absl::StatusOr<RewardStudyReport> RunRewardStudy(models::ImaginationEngine& engine, const RewardStudyOptions& options) {
  VLARFT_RETURN_IF_ERROR(Validate(options));
  std::vector<tabletop::ChunkPerturbation> perturbations;
  for (const std::string& name : options.perturbations) {
    VLARFT_ASSIGN_OR_RETURN(tabletop::ChunkPerturbation p, tabletop::ParseChunkPerturbation(name));
    perturbations.push_back(p);
  }
  for (const std::string& suite : options.suites) {
    if (std::find(tabletop::SuiteNames().begin(), tabletop::SuiteNames().end(), suite) == tabletop::SuiteNames().end()) {
      return absl::InvalidArgumentError(absl::StrCat("--suites: unknown suite '", suite, "'"));
    }
  }
  const std::vector<const tabletop::Task*> tasks = tabletop::TasksOfSuites(options.suites);
  const int size = static_cast<int>(engine.tokenizer()->config().image_size);
  const int64_t n = options.states, m = static_cast<int64_t>(perturbations.size());
  const int64_t action_dim = engine.world_model()->config().action_dim;
  if (action_dim != 7) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the world model takes %d-D actions; the tabletop benchmark's are 7-D", action_dim));
  }
  VLARFT_ASSIGN_OR_RETURN(std::vector<DistanceScorer> scorers, MakeScorers(engine, options));

  RewardStudyReport report;
  report.perturbations = options.perturbations;
  auto start = Clock::now();
  std::vector<SampledState> states;
  for (int64_t i = 0; i < n; ++i) {
    VLARFT_ASSIGN_OR_RETURN(SampledState s, SampleState(tasks, perturbations, options, i, size));
    report.states.push_back(s.info);
    std::vector<int> steps;
    std::vector<bool> success;
    for (const tabletop::ChunkOutcome& o : s.outcomes) steps.push_back(o.steps), success.push_back(o.success);
    report.steps.push_back(steps);
    report.success.push_back(success);
    states.push_back(std::move(s));
  }
  report.sample_seconds = Seconds(start);
  report.truths = TruthColumns(states, options.on_time_slack);
  report.rewards = RewardColumns(options, n);

  models::SamplingParams sampling;
  sampling.temperature = options.temperature;
  sampling.top_k = options.top_k;
  sampling.top_p = options.top_p;
  sampling.greedy = options.greedy;
  std::vector<torch::Tensor> example_frames;  // imagined frames of the example states
  for (int64_t begin = 0; begin < n; begin += options.states_per_batch) {
    const int64_t count = std::min(options.states_per_batch, n - begin);
    std::vector<models::GroupJob> jobs(count);
    for (int64_t k = 0; k < count; ++k) {
      const SampledState& s = states[begin + k];
      std::vector<std::vector<tabletop::Action>> rows = s.chunks;
      rows.push_back(s.expert_chunk);  // the last row: the type-3 reference
      jobs[k].context_frame = FramesTensor(s.context, {size, size, 3});
      jobs[k].actions = ChunksTensor(rows);
      for (int64_t r = 0; r <= m; ++r) {
        jobs[k].seeds.push_back(core::SeedPath(options.seed).Child("imagine").Child(begin + k).Child(r).seed());
      }
      jobs[k].sampling = sampling;
    }
    start = Clock::now();
    VLARFT_ASSIGN_OR_RETURN(std::vector<models::GroupResult> results, engine.ImagineBatch(jobs));
    report.imagine_seconds += Seconds(start);
    report.imagined_frames += count * (m + 1) * options.chunk;
    start = Clock::now();
    for (int64_t k = 0; k < count; ++k) {
      VLARFT_RETURN_IF_ERROR(ScoreState(states[begin + k], results[k].frames, scorers, size, report.rewards, begin + k));
      if (begin + k < options.example_states) example_frames.push_back(results[k].frames);
    }
    report.score_seconds += Seconds(start);
    std::cout << absl::StrFormat("  %d/%d states imagined and scored (%.0f s imagining)\n", begin + count, n,
                                 report.imagine_seconds)
              << std::flush;
  }

  start = Clock::now();
  const uint64_t bootstrap_seed = core::SeedPath(options.seed).Child("bootstrap").seed();
  for (const StudyColumn& reward : report.rewards) {
    for (const StudyColumn& truth : report.truths) {
      const reward::GroupedPairs data{reward.values, truth.values};
      VariantResult r{reward.name, truth.name, {}, {}, {}};
      // One bootstrap seed for every pair, so all rewards see the same resampled states.
      r.pooled = Summarise(n, [&](const std::vector<int64_t>& g) { return reward::PooledSpearman(data, g); },
                           options.bootstrap, bootstrap_seed);
      r.within = Summarise(n, [&](const std::vector<int64_t>& g) { return reward::MeanWithinGroupSpearman(data, g); },
                           options.bootstrap, bootstrap_seed);
      reward::MeanWithinGroupSpearman(data, reward::AllGroups(n), &r.within.defined_groups);
      if (IsBinary(truth)) {
        r.auroc = Summarise(n, [&](const std::vector<int64_t>& g) { return PooledAuroc(data, g); }, options.bootstrap,
                            bootstrap_seed);
      }
      report.results.push_back(std::move(r));
    }
  }
  report.reward_ranks = MeanRanks(report.rewards);
  report.truth_ranks = MeanRanks(report.truths);
  report.stats_seconds = Seconds(start);
  for (size_t i = 0; i < example_frames.size(); ++i) {
    report.examples.push_back(ExampleImage(states[i], example_frames[i], report, options.example_perturbations,
                                           static_cast<int64_t>(i), size));
  }
  return report;
}

nlohmann::json StudyToJson(const RewardStudyReport& report, const RewardStudyOptions& options) {
  nlohmann::json out;
  out["options"] = {{"states", options.states},
                    {"suites", options.suites},
                    {"perturbations", options.perturbations},
                    {"chunk", options.chunk},
                    {"expert_noise", options.expert_noise},
                    {"expert_pause_prob", options.expert_pause_prob},
                    {"seed", options.seed},
                    {"sampling", {{"temperature", options.temperature}, {"top_k", options.top_k},
                                  {"top_p", options.top_p}, {"greedy", options.greedy}}},
                    {"reward", {{"distances", options.distances}, {"w_l1", options.w_l1},
                                {"w_perceptual", options.w_perceptual}, {"aggregation", options.aggregation},
                                {"gamma", options.gamma}}},
                    {"on_time_slack", options.on_time_slack},
                    {"bootstrap", options.bootstrap}};
  nlohmann::json columns = nlohmann::json::object();
  for (const StudyColumn& c : report.truths) columns[c.name] = c.description;
  out["truths"] = columns;
  columns = nlohmann::json::object();
  for (const StudyColumn& c : report.rewards) columns[c.name] = c.description;
  out["rewards"] = columns;
  nlohmann::json results = nlohmann::json::array();
  for (const VariantResult& r : report.results) {
    nlohmann::json j{{"reward", r.reward}, {"truth", r.truth}, {"spearman_pooled", CorrelationJson(r.pooled)},
                     {"spearman_within_state", CorrelationJson(r.within)},
                     {"within_state_defined", r.within.defined_groups}};
    if (r.auroc.value) j["auroc"] = CorrelationJson(r.auroc);
    results.push_back(j);
  }
  out["results"] = results;
  nlohmann::json per = nlohmann::json::array();
  for (size_t p = 0; p < report.perturbations.size(); ++p) {
    nlohmann::json j{{"perturbation", report.perturbations[p]}};
    for (size_t c = 0; c < report.truths.size(); ++c) j["mean_rank"][report.truths[c].name] = report.truth_ranks[c][p];
    for (size_t c = 0; c < report.rewards.size(); ++c) j["mean_rank"][report.rewards[c].name] = report.reward_ranks[c][p];
    per.push_back(j);
  }
  out["per_perturbation"] = per;
  nlohmann::json states = nlohmann::json::array();
  for (size_t s = 0; s < report.states.size(); ++s) {
    const StudyState& st = report.states[s];
    nlohmann::json chunks = nlohmann::json::array();
    for (size_t i = 0; i < report.perturbations.size(); ++i) {
      nlohmann::json c{{"perturbation", report.perturbations[i]}, {"success", static_cast<bool>(report.success[s][i])},
                       {"steps", report.steps[s][i]}};
      for (const StudyColumn& r : report.rewards) c["rewards"][r.name] = r.values[s][i];
      chunks.push_back(c);
    }
    states.push_back({{"task", st.task}, {"layout_seed", st.layout_seed}, {"start_step", st.start_step},
                      {"expert_steps", st.expert_steps}, {"max_steps", st.max_steps}, {"chunks", chunks}});
  }
  out["states"] = states;
  out["seconds"] = {{"sample_and_ground_truth", report.sample_seconds}, {"imagine", report.imagine_seconds},
                    {"score", report.score_seconds}, {"statistics", report.stats_seconds}};
  out["imagined_frames"] = report.imagined_frames;
  return out;
}

std::string StudyToMarkdown(const RewardStudyReport& report, const RewardStudyOptions& options) {
  const int64_t n = static_cast<int64_t>(report.states.size());
  const int64_t m = static_cast<int64_t>(report.perturbations.size());
  int64_t solved = 0, on_time = 0;
  for (size_t s = 0; s < report.states.size(); ++s) {
    for (int64_t i = 0; i < m; ++i) {
      solved += report.truths[0].values[s][i] > 0.5;
      on_time += report.truths[1].values[s][i] > 0.5;
    }
  }
  std::string md = absl::StrFormat(
      "%d states x %d chunks (chunk of %d actions; world model sampling: %s). Ground truth: %d of %d chunks "
      "solved within the task budget, %d within the expert's own steps + %d. Spearman rho with 95%% bootstrap "
      "intervals over states (%d resamples); within-state = mean of per-state rho over the states where it is "
      "defined (n).\n\n",
      n, m, options.chunk,
      options.greedy ? "greedy" : absl::StrFormat("temperature %.2f, top-k %d, top-p %.2f", options.temperature,
                                                  options.top_k, options.top_p),
      solved, n * m, on_time, options.on_time_slack, options.bootstrap);
  for (const StudyColumn& truth : report.truths) {
    const bool binary = IsBinary(truth);
    md += absl::StrFormat("### Ground truth: %s (%s)\n\n", truth.name, truth.description);
    md += binary ? "| reward | rho pooled | rho within-state | n | AUROC |\n|---|---:|---:|---:|---:|\n"
                 : "| reward | rho pooled | rho within-state | n |\n|---|---:|---:|---:|\n";
    for (const VariantResult& r : report.results) {
      if (r.truth != truth.name) continue;
      md += absl::StrFormat("| %s | %s | %s | %d |", r.reward, Interval(r.pooled), Interval(r.within),
                            r.within.defined_groups);
      md += binary ? absl::StrFormat(" %s |\n", Interval(r.auroc)) : "\n";
    }
    md += "\n";
  }
  md += "### Per perturbation: ground truth and mean within-state rank (1 = ranked best)\n\n";
  md += "| perturbation | solved | mean delay (solved) | rank by progress |";
  for (const StudyColumn& c : report.rewards) md += " " + c.name + " |";
  md += "\n|---|---:|---:|---:|";
  for (size_t c = 0; c < report.rewards.size(); ++c) md += "---:|";
  md += "\n";
  for (int64_t p = 0; p < m; ++p) {
    int64_t ok = 0;
    double delay = 0;
    for (size_t s = 0; s < report.states.size(); ++s) {
      if (report.success[s][p]) ++ok, delay += report.steps[s][p] - report.states[s].expert_steps;
    }
    md += absl::StrFormat("| %s | %d/%d | %s | %.1f |", report.perturbations[p], ok, n,
                          ok > 0 ? absl::StrFormat("%+.1f", delay / ok) : "n/a", report.truth_ranks[2][p]);
    for (size_t c = 0; c < report.rewards.size(); ++c) md += absl::StrFormat(" %.1f |", report.reward_ranks[c][p]);
    md += "\n";
  }
  md += absl::StrFormat(
      "\nTimings: states and ground truth %.1f s, imagination %.1f s (%d frames, %.1f frames/s), scoring %.1f s, "
      "statistics %.1f s.\n",
      report.sample_seconds, report.imagine_seconds, report.imagined_frames,
      report.imagined_frames / std::max(1e-9, report.imagine_seconds), report.score_seconds, report.stats_seconds);
  return md;
}

viz::Image CorrelationChart(const RewardStudyReport& report) {
  const double nan = std::nan("");
  auto find = [&](const std::string& reward, const std::string& truth) -> const VariantResult* {
    for (const VariantResult& r : report.results) {
      if (r.reward == reward && r.truth == truth) return &r;
    }
    return nullptr;
  };
  auto add = [&](viz::BarRow& row, const CorrelationResult& c) {
    row.values.push_back(c.value.value_or(nan));
    row.low.push_back(c.ci ? c.ci->low : nan);
    row.high.push_back(c.ci ? c.ci->high : nan);
  };
  std::vector<viz::BarRow> rows;
  for (const StudyColumn& reward : report.rewards) {
    viz::BarRow row{reward.name, {}, {}, {}};
    add(row, find(reward.name, "progress")->within);
    add(row, find(reward.name, "progress")->pooled);
    add(row, find(reward.name, "success")->within);
    add(row, find(reward.name, "success")->pooled);
    rows.push_back(row);
  }
  viz::BarChartOptions options;
  options.title = "reward vs ground truth: spearman rho";
  options.value_label = "spearman rho (95% bootstrap interval over states)";
  options.series = {"within-state vs progress", "pooled vs progress", "within-state vs success", "pooled vs success"};
  options.min = -1, options.max = 1, options.tick_step = 0.25;
  return viz::HorizontalBarChart(rows, options);
}

}  // namespace vlarft::studies
