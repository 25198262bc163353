// The real Prometheus server (Debian package `prometheus`) scraping a real vlarft-learner through
// the local launcher's scrape template (deploy/prometheus/local-scrape.yml.tmpl), queried over its
// HTTP API like a dashboard would.
//
// A miniature rollout worker inside the test closes the loop: it streams the learner's newest
// weights into a PolicyReplica, samples groups with them and scores each action chunk by its
// distance to a fixed target (a reward GRPO can improve), and submits the groups. The test then
// asks Prometheus for the learner's reward and version series, and evaluates the Grafana
// dashboard's own reward query (deploy/grafana/vlarft-rft.json) against the scraped data.
//
// Environment (optional; used by deploy/grafana/render_dashboard_png.py for docs/operations.md):
//   VLARFT_PROM_TEST_STEPS=N   optimiser steps to run (default 6)
//   VLARFT_PROM_TEST_DUMP=DIR  after the run, write query_range results of the dashboard's learner
//                              panels to DIR/<panel>.json
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/evaluation/benchmark_policy.h"
#include "libs/core/subprocess.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/rollout_proto.h"
#include "services/common/weights_proto.h"
#include "libs/rollout/policy_replica.h"
#include "tests/models/policy_test_util.h"
#include "tests/testing/child_process.h"
#include "vlarft/v1/learner.grpc.pb.h"

namespace vlarft::services {
namespace {

using rollout::PolicyReplica;

namespace fs = std::filesystem;
using json = nlohmann::json;
using vlarft::testing::ChildProcess;

constexpr int64_t kGroupSize = 8;
constexpr int64_t kPromptsPerStep = 2;

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string FindPrometheus() {
  if (const char* env = std::getenv("VLARFT_PROMETHEUS")) return env;
  for (const char* candidate : {"/usr/bin/prometheus", "/usr/local/bin/prometheus"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoll(v) : fallback;
}

class PrometheusScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = vlarft::testing::MakeTempDir("prometheus");
    torch::manual_seed(11);
    // The benchmark's vocabulary, so the evaluator can run the policy on the tabletop suites.
    models::VlaPolicy policy = evaluation::testing::MakeBenchmarkPolicy();
    models::testing::Randomize(*policy, 0.1);
    ASSERT_TRUE(models::SavePolicy(dir_ + "/policy", policy, 0).ok());
  }

  // --- the learner -------------------------------------------------------------------------------
  void StartLearner(int64_t max_steps) {
    std::vector<std::string> args = {vlarft::testing::BinaryPath("vlarft-learner"), "--host=127.0.0.1",
                                     "--metrics_host=127.0.0.1", "--ready_file=" + dir_ + "/learner.ready",
                                     "--shutdown_grace_s=1",
                                     "--set", "learner.policy_checkpoint=" + dir_ + "/policy",
                                     "--set", "learner.checkpoint_dir=" + dir_ + "/ckpt",
                                     "--set", absl::StrCat("learner.prompts_per_step=", kPromptsPerStep),
                                     "--set", "learner.intake_capacity=8",
                                     "--set", absl::StrCat("learner.max_steps=", max_steps),
                                     "--set", "learner.checkpoint_every=0",
                                     "--set", "learner.exit_when_finished=false",
                                     "--set", "learner.torch_threads=1",
                                     "--set", "learner.optim.warmup_steps=0",
                                     "--set", "learner.optim.head_lr=0.003"};
    auto process = ChildProcess::Start(args, dir_ + "/learner.log");
    ASSERT_TRUE(process.ok()) << process.status();
    learner_.emplace(*std::move(process));
    auto ready = vlarft::testing::WaitForFile(dir_ + "/learner.ready", absl::Seconds(60));
    ASSERT_TRUE(ready.ok()) << learner_->ReadLog();
    const int port = *vlarft::testing::ReadJsonInt(*ready, "port");
    metrics_port_ = *vlarft::testing::ReadJsonInt(*ready, "metrics_port");
    ClientOptions options;
    options.target = learner_target_ = absl::StrCat("127.0.0.1:", port);
    stub_ = v1::Learner::NewStub(*MakeChannel(options));
  }

  // --- the evaluator (benchmark success of each learner version) ---------------------------------
  void StartEvaluator() {
    const std::vector<std::string> args = {
        vlarft::testing::BinaryPath("vlarft-evaluator"), "--host=127.0.0.1", "--metrics_host=127.0.0.1",
        "--ready_file=" + dir_ + "/evaluator.ready", "--shutdown_grace_s=1",
        "--set", "evaluator.policy_checkpoint=" + dir_ + "/policy", "--set", "evaluator.suites=[goal]",
        "--set", "evaluator.episodes_per_task=1", "--set", "evaluator.mixed_precision=none",
        "--set", "evaluator.weight_wait_s=1", "--set", "evaluator.learner.target=" + learner_target_};
    auto process = ChildProcess::Start(args, dir_ + "/evaluator.log");
    ASSERT_TRUE(process.ok()) << process.status();
    evaluator_.emplace(*std::move(process));
    auto ready = vlarft::testing::WaitForFile(dir_ + "/evaluator.ready", absl::Seconds(60));
    ASSERT_TRUE(ready.ok()) << evaluator_->ReadLog();
    evaluator_metrics_port_ = *vlarft::testing::ReadJsonInt(*ready, "metrics_port");
  }

  int64_t LearnerStep() {
    v1::LearnerStatus status;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->GetStatus(&context, {}, &status).ok() ? status.step() : -1;
  }

  // --- a miniature rollout worker ----------------------------------------------------------------
  // Streams version >= min_version into the replica.
  void FetchWeights(PolicyReplica& replica, int64_t min_version) {
    v1::GetPolicyWeightsRequest request;
    request.set_min_version(min_version);
    request.set_wait_ms(10000);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub_->GetPolicyWeights(&context, request);
    WeightAssembler assembler;
    v1::WeightChunk chunk;
    bool complete = false;
    while (reader->Read(&chunk)) {
      auto done = assembler.Add(chunk);
      ASSERT_TRUE(done.ok()) << done.status();
      complete = *done;
    }
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_TRUE(complete);
    ASSERT_TRUE(replica.Apply(assembler.version(), assembler.tensors()).ok());
  }

  // One group sampled with the replica's weights; reward = -mean |action - 0.5| (higher is better).
  v1::RolloutGroup SampleGroup(PolicyReplica& replica, int64_t index) {
    models::PolicyObservation obs = models::testing::TinyObservation(1);
    auto sampled = replica.SampleGroup(obs, kGroupSize, 1000 + index);
    EXPECT_TRUE(sampled.ok()) << sampled.status();
    rl::RolloutGroupData g;
    g.group_id = absl::StrCat("g", index);
    g.worker_id = "prometheus-test";
    g.policy_version = sampled->version;
    g.observations = obs.frames.view({1, 1, 16, 16, 3});
    g.instruction = obs.instructions[0];
    g.proprio = obs.proprio[0];
    g.expert_actions = torch::zeros({8, 7});
    g.chains = sampled->sample.chain.unsqueeze(1);
    g.old_log_probs = sampled->sample.log_probs.unsqueeze(1);
    g.rewards = -(sampled->actions - 0.5).abs().mean({1, 2});
    v1::RolloutGroup proto;
    EXPECT_TRUE(RolloutGroupToProto(g, &proto).ok());
    return proto;
  }

  void RunSteps(int64_t steps) {
    auto base = models::LoadPolicy(dir_ + "/policy");
    ASSERT_TRUE(base.ok()) << base.status();
    PolicyReplica replica(*base);
    int64_t index = 0;
    for (int64_t step = 0; step < steps; ++step) {
      FetchWeights(replica, step);
      ASSERT_EQ(replica.version(), step);
      v1::SubmitGroupsRequest request;
      for (int64_t p = 0; p < kPromptsPerStep; ++p) *request.add_groups() = SampleGroup(replica, index++);
      v1::SubmitGroupsResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      ASSERT_TRUE(stub_->SubmitGroups(&context, request, &response).ok());
      ASSERT_EQ(response.accepted(), kPromptsPerStep);
      const absl::Time deadline = absl::Now() + absl::Seconds(60);
      while (LearnerStep() < step + 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
      ASSERT_GE(LearnerStep(), step + 1) << learner_->ReadLog();
      // Spread the steps over scrapes so the series have a shape (Prometheus scrapes every 1 s).
      absl::SleepFor(absl::Milliseconds(steps > 10 ? 600 : 300));
    }
  }

  // --- Prometheus --------------------------------------------------------------------------------
  void StartPrometheus() {
    const std::string binary = FindPrometheus();
    ASSERT_FALSE(binary.empty()) << "the prometheus server is not installed (deploy/install-deps.sh installs the "
                                    "Debian package `prometheus`; or set VLARFT_PROMETHEUS)";
    // The targets file the local launcher writes (file_sd format), here with the one learner rank
    // and the evaluator.
    json targets = json::array(
        {{{"targets", {absl::StrCat("127.0.0.1:", metrics_port_)}}, {"labels", {{"component", "learner"}, {"rank", "0"}}}},
         {{"targets", {absl::StrCat("127.0.0.1:", evaluator_metrics_port_)}}, {"labels", {{"component", "evaluator"}}}}});
    std::ofstream(dir_ + "/targets.json") << targets.dump(2);
    const std::string tmpl = ReadFile("deploy/prometheus/local-scrape.yml.tmpl");
    ASSERT_FALSE(tmpl.empty()) << "deploy/prometheus/local-scrape.yml.tmpl not found (tests run from the repo root)";
    const std::string config = absl::StrReplaceAll(
        tmpl, {{"@SCRAPE_INTERVAL@", "1s"}, {"@TARGETS_FILE@", dir_ + "/targets.json"}, {"@RUN_NAME@", "prometheus-test"}});
    ASSERT_EQ(config.find('@'), std::string::npos) << "unreplaced placeholder in\n" << config;
    std::ofstream(dir_ + "/prometheus.yml") << config;

    // The free port may be taken between probing and binding: retry a few times.
    for (int attempt = 0; attempt < 3 && prom_port_ == 0; ++attempt) {
      absl::StatusOr<int> free_port = vlarft::core::FreeLoopbackPort();
      ASSERT_TRUE(free_port.ok()) << free_port.status();
      const int port = *free_port;
      auto process = ChildProcess::Start({binary, "--config.file=" + dir_ + "/prometheus.yml",
                                          "--storage.tsdb.path=" + dir_ + "/tsdb",
                                          absl::StrCat("--web.listen-address=127.0.0.1:", port), "--log.level=warn"},
                                         dir_ + "/prometheus.log");
      ASSERT_TRUE(process.ok()) << process.status();
      prometheus_.emplace(*std::move(process));
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      while (absl::Now() < deadline && prometheus_->running()) {
        if (vlarft::testing::HttpGet(port, "/-/ready", absl::Seconds(2)).ok()) {
          prom_port_ = port;
          break;
        }
        absl::SleepFor(absl::Milliseconds(100));
      }
      if (prom_port_ == 0) prometheus_.reset();
    }
    ASSERT_NE(prom_port_, 0) << "prometheus did not become ready: " << ReadFile(dir_ + "/prometheus.log");
  }

  // Instant query; returns the result vector (empty when the series does not exist).
  json Query(const std::string& promql) {
    auto body = vlarft::testing::HttpGet(prom_port_, "/api/v1/query?query=" + UrlEncode(promql), absl::Seconds(5));
    EXPECT_TRUE(body.ok()) << promql << ": " << body.status();
    if (!body.ok()) return json::array();
    json reply = json::parse(*body);
    EXPECT_EQ(reply["status"], "success") << *body;
    return reply["data"]["result"];
  }

  // Polls `promql` until its first sample satisfies `ok` (Prometheus scrapes every second).
  std::optional<double> WaitForValue(const std::string& promql, const std::function<bool(double)>& ok) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      json result = Query(promql);
      if (!result.empty()) {
        const double v = std::stod(result[0]["value"][1].get<std::string>());
        if (ok(v)) return v;
      }
      absl::SleepFor(absl::Milliseconds(250));
    }
    return std::nullopt;
  }

  // The dashboard's query of panel `title`, target `ref`, with Grafana's variables filled in.
  static std::string DashboardQuery(const json& dashboard, const std::string& title, const std::string& ref,
                                    const std::string& rate_interval) {
    for (const json& panel : dashboard["panels"]) {
      if (panel.value("title", "") != title) continue;
      for (const json& target : panel["targets"]) {
        if (target["refId"] == ref) {
          return absl::StrReplaceAll(target["expr"].get<std::string>(),
                                     {{"$namespace", ".*"}, {"$__rate_interval", rate_interval}});
        }
      }
    }
    return "";
  }

  void DumpDashboardSeries(const std::string& out_dir, const json& dashboard, double start, double end) {
    fs::create_directories(out_dir);
    for (const json& panel : dashboard["panels"]) {
      if (panel.value("type", "") != "timeseries") continue;
      json dump = {{"title", panel["title"]}, {"series", json::array()}};
      for (const json& target : panel["targets"]) {
        const std::string expr = absl::StrReplaceAll(target["expr"].get<std::string>(),
                                                     {{"$namespace", ".*"}, {"$__rate_interval", "5s"}});
        const std::string path = absl::StrFormat("/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=1",
                                                 UrlEncode(expr), start, end);
        auto body = vlarft::testing::HttpGet(prom_port_, path, absl::Seconds(10));
        EXPECT_TRUE(body.ok()) << path << ": " << body.status();
        if (!body.ok()) continue;
        json reply = json::parse(*body);
        dump["series"].push_back({{"legend", target.value("legendFormat", "")}, {"expr", expr},
                                  {"result", reply["data"]["result"]}});
      }
      std::string name = panel["title"].get<std::string>();
      for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
      std::ofstream(out_dir + "/" + name + ".json") << dump.dump(1);
    }
  }

  std::string dir_;
  std::optional<ChildProcess> learner_;
  std::optional<ChildProcess> prometheus_;
  std::unique_ptr<v1::Learner::Stub> stub_;
  int metrics_port_ = 0;
  int prom_port_ = 0;
  std::string learner_target_;
  std::optional<ChildProcess> evaluator_;
  int evaluator_metrics_port_ = 0;
};

TEST_F(PrometheusScrapeTest, PrometheusScrapesTheLearnersRewardSeries) {
  const int64_t steps = std::max<int64_t>(2, EnvInt("VLARFT_PROM_TEST_STEPS", 6));
  StartLearner(steps + 1);
  ASSERT_FALSE(HasFatalFailure());
  StartEvaluator();
  ASSERT_FALSE(HasFatalFailure());
  StartPrometheus();
  ASSERT_FALSE(HasFatalFailure());
  const double start = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());

  // The target is up and labelled the way dashboards and alerts select it.
  ASSERT_TRUE(WaitForValue(R"(up{job="vlarft",component="learner",rank="0"})", [](double v) { return v == 1; }))
      << ReadFile(dir_ + "/prometheus.log");
  // Before any step: version 0 published, no reward yet.
  ASSERT_TRUE(WaitForValue("vlarft_learner_policy_version", [](double v) { return v == 0; }));

  RunSteps(steps);
  ASSERT_FALSE(HasFatalFailure());

  // The series moved: version and step reached `steps`, groups were counted, rewards are recorded.
  EXPECT_TRUE(WaitForValue(R"(vlarft_learner_policy_version{component="learner"})",
                           [&](double v) { return v == static_cast<double>(steps); }));
  EXPECT_TRUE(WaitForValue("vlarft_learner_step", [&](double v) { return v == static_cast<double>(steps); }));
  EXPECT_TRUE(WaitForValue("vlarft_learner_groups_accepted_total",
                           [&](double v) { return v == static_cast<double>(steps * kPromptsPerStep); }));
  std::optional<double> reward = WaitForValue("vlarft_learner_reward_mean", [](double v) { return v < 0 && v > -2; });
  ASSERT_TRUE(reward.has_value()) << "rewards are -mean|a - 0.5| for actions in about [-1, 1]";
  // The gauge took more than one value over the run (it follows every step).
  json changes = Query("changes(vlarft_learner_reward_mean[5m])");
  ASSERT_FALSE(changes.empty());
  EXPECT_GE(std::stod(changes[0]["value"][1].get<std::string>()), 1.0);
  EXPECT_FALSE(Query("vlarft_learner_reward_std > 0").empty()) << "samples within a group differ";

  // The Grafana dashboard's own queries find the series.
  const json dashboard = json::parse(ReadFile("deploy/grafana/vlarft-rft.json"));
  const std::string reward_query = DashboardQuery(dashboard, "Reward mean ± std", "A", "1m");
  ASSERT_FALSE(reward_query.empty()) << "dashboard panel 'Reward mean ± std' not found";
  json dashboard_reward = Query(reward_query);
  ASSERT_EQ(dashboard_reward.size(), 1u) << reward_query;
  EXPECT_NEAR(std::stod(dashboard_reward[0]["value"][1].get<std::string>()), *reward, 1e-6);
  EXPECT_FALSE(Query(DashboardQuery(dashboard, "Staleness (policy versions)", "A", "1m")).empty());

  // The evaluator's success series, as the dashboard's success panel and the alert read them: the
  // baseline and at least one learner version, per suite and averaged.
  EXPECT_TRUE(WaitForValue(R"(vlarft_evaluator_base_success_ratio{component="evaluator",suite="all"})",
                           [](double v) { return v >= 0 && v <= 1; }))
      << evaluator_->ReadLog();
  EXPECT_TRUE(WaitForValue(R"(vlarft_evaluator_success_ratio{component="evaluator",suite="goal"})",
                           [](double v) { return v >= 0 && v <= 1; }))
      << evaluator_->ReadLog();
  EXPECT_TRUE(WaitForValue("vlarft_evaluator_policy_version", [](double v) { return v >= 0; }));
  EXPECT_FALSE(Query(DashboardQuery(dashboard, "Success vs baseline", "A", "1m")).empty());
  EXPECT_FALSE(Query(DashboardQuery(dashboard, "Success vs baseline", "D", "1m")).empty());

  if (const char* dump = std::getenv("VLARFT_PROM_TEST_DUMP")) {
    absl::SleepFor(absl::Seconds(2));
    DumpDashboardSeries(dump, dashboard, start, absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  }

  prometheus_->Signal(SIGTERM);
  EXPECT_TRUE(prometheus_->WaitFor(absl::Seconds(20)).has_value());
  evaluator_->Signal(SIGTERM);
  EXPECT_EQ(evaluator_->WaitFor(absl::Seconds(20)), std::optional<int>(0)) << evaluator_->ReadLog();
  learner_->Signal(SIGTERM);
  auto code = learner_->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << learner_->ReadLog();
}

}  // namespace
}  // namespace vlarft::services
