#include "tests/pipeline/rft_run.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "tests/testing/child_process.h"

namespace vlarft::pipeline_testing {
namespace fs = std::filesystem;
namespace {

const char kConfig[] = "configs/tiny.yaml";  // tests run in the source tree (CTest WORKING_DIRECTORY)

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// Runs one `vlarft` command to completion (bounded); its output goes to `log`.
absl::Status RunTool(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), vlarft::testing::BinaryPath("vlarft"));
  VLARFT_ASSIGN_OR_RETURN(core::Subprocess tool, core::Subprocess::Start(args, log));
  const std::optional<int> code = tool.WaitFor(absl::Seconds(180));
  if (!code.has_value()) {
    return absl::DeadlineExceededError(absl::StrCat(args[1], " ", args[2], " did not finish in 180 s:\n", Tail(tool.ReadLog(), 3000)));
  }
  if (*code != 0) {
    return absl::InternalError(absl::StrCat(args[1], " ", args[2], " exited with ", *code, ":\n", Tail(tool.ReadLog(), 3000)));
  }
  return absl::OkStatus();
}

// True while `pid` exists and is not a zombie.
bool Alive(int pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z' && line[paren + 2] != 'X';
}

}  // namespace

absl::StatusOr<TinyInputs> MakeTinyInputs(const std::string& dir) {
  TinyInputs in{dir + "/demos", dir + "/tokenizer", dir + "/world_model", dir + "/policy_base"};
  VLARFT_RETURN_IF_ERROR(RunTool({"data", "generate", "--out=" + in.demos, "--suites=[spatial]", "--demos_per_task=2",
                                  "--threads=1"},
                                 dir + "/data.log"));
  // The tiny preset's document with narrower models and a few steps: the architecture comes from
  // each checkpoint's sidecar, so the services load these exactly as they load the real ones.
  VLARFT_RETURN_IF_ERROR(RunTool(
      {"train", "tokenizer", "--config", kConfig, "--dataset=" + in.demos, "--out=" + in.tokenizer,
       "--checkpoint_dir=" + dir + "/tokenizer_checkpoints", "--set=tokenizer.model.base_channels=8",
       "--set=tokenizer.model.max_channels=16", "--set=tokenizer.training.steps=2",
       "--set=tokenizer.training.batch_size=2", "--set=tokenizer.training.validate_every=0",
       "--set=tokenizer.training.validation_batches=1", "--set=tokenizer.training.checkpoint_every=0",
       "--set=tokenizer.training.perceptual_weight=0", "--set=tokenizer.training.torch_threads=1"},
      dir + "/tokenizer.log"));
  VLARFT_RETURN_IF_ERROR(RunTool(
      {"train", "world-model", "--config", kConfig, "--dataset=" + in.demos, "--tokenizer=" + in.tokenizer,
       "--out=" + in.world_model, "--checkpoint_dir=" + dir + "/world_model_checkpoints",
       "--set=world_model.model.layers=1", "--set=world_model.model.dim=32", "--set=world_model.model.heads=2",
       "--set=world_model.model.ffn=64", "--set=world_model.model.max_frames=16",
       "--set=world_model.training.frames=4", "--set=world_model.training.steps=2",
       "--set=world_model.training.batch_size=2", "--set=world_model.training.validate_every=0",
       "--set=world_model.training.validation_batches=1", "--set=world_model.training.checkpoint_every=0",
       "--set=world_model.training.torch_threads=1"},
      dir + "/world_model.log"));
  std::vector<std::string> policy = {
      "train", "policy", "--config", kConfig, "--dataset=" + in.demos, "--out=" + in.policy,
      "--checkpoint_dir=" + dir + "/policy_checkpoints", "--set=policy.encoder.dim=32",
      "--set=policy.encoder.layers=1", "--set=policy.encoder.heads=2", "--set=policy.encoder.ffn=64",
      "--set=policy.flow_steps=4", "--set=policy_training.steps=2", "--set=policy_training.batch_size=2",
      "--set=policy_training.validate_every=0", "--set=policy_training.checkpoint_every=0",
      "--set=policy_training.torch_threads=1"};
  for (const char* net : {"flow_head", "sigma_net"}) {
    for (const char* kv : {"depth=1", "dim=32", "heads=2", "ffn=64"}) policy.push_back(absl::StrCat("--set=policy.", net, ".", kv));
  }
  VLARFT_RETURN_IF_ERROR(RunTool(policy, dir + "/policy.log"));
  return in;
}

absl::StatusOr<std::unique_ptr<RftRun>> RftRun::Start(const TinyInputs& inputs, const std::string& out_dir,
                                                      const std::vector<std::string>& overrides) {
  std::vector<std::string> args = {vlarft::testing::BinaryPath("vlarft"), "rft", "--config", kConfig};
  std::vector<std::string> sets = {
      "rft.dataset=" + inputs.demos, "rft.base_policy=" + inputs.policy, "rft.eval_episodes_per_task=1",
      "rft.eval_suites=[spatial]", "rft.eval_threads=1", "rft.launch.out_dir=" + out_dir,
      "rft.launch.startup_timeout_s=120", "rft.probe_episodes_per_task=1", "rft.perturbation_episodes_per_task=0",
      "simulator.tokenizer_checkpoint=" + inputs.tokenizer, "simulator.world_model_checkpoint=" + inputs.world_model,
      "reward.tokenizer_checkpoint=" + inputs.tokenizer,
      "learner.prompts_per_step=2", "learner.intake_capacity=4", "learner.checkpoint_every=4",
      "rollout.group_size=4", "rollout.weight_poll_ms=500"};
  sets.insert(sets.end(), overrides.begin(), overrides.end());
  for (const std::string& s : sets) args.push_back("--set=" + s);
  fs::create_directories(out_dir);
  VLARFT_ASSIGN_OR_RETURN(core::Subprocess launcher, core::Subprocess::Start(args, out_dir + "/launcher.log"));
  return std::unique_ptr<RftRun>(new RftRun(std::move(launcher), out_dir));
}

RftRun::~RftRun() {
  if (launcher_.running()) {
    // No handler in the launcher: it dies, and --parent_pid turns that into SIGTERM for its services.
    launcher_.Signal(SIGTERM);
    launcher_.WaitFor(absl::Seconds(10));
  }
  (void)Processes();  // pick up pids of late restarts
  for (int pid : LivePids(absl::Seconds(60))) {
    // Only processes of this run: their command line names out_dir.
    if (absl::StrContains(ReadFile(absl::StrCat("/proc/", pid, "/cmdline")), out_dir_)) kill(pid, SIGKILL);
  }
}

absl::StatusOr<std::map<std::string, ServiceState>> RftRun::Processes() {
  const std::string text = ReadFile(out_dir_ + "/run/processes.json");
  if (text.empty()) return absl::NotFoundError(out_dir_ + "/run/processes.json is not written yet");
  const nlohmann::json manifest = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest["processes"].is_array()) {
    return absl::DataLossError("processes.json does not parse: " + text);
  }
  std::map<std::string, ServiceState> processes;
  for (const nlohmann::json& p : manifest["processes"]) {
    ServiceState s;
    s.name = p.value("name", "");
    s.pid = p.value("pid", 0);
    s.restarts = p.value("restarts", 0);
    if (p["exit_code"].is_number_integer()) s.exit_code = p["exit_code"].get<int>();
    s.log = p.value("log", "");
    s.ready_file = p.value("ready_file", "");
    if (s.pid > 0) seen_pids_.insert(s.pid);
    processes[s.name] = s;
  }
  return processes;
}

absl::StatusOr<ServiceState> RftRun::WaitForService(const std::string& name, int min_restarts, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  std::string last = "no manifest";
  while (absl::Now() < give_up && launcher_.running()) {
    absl::StatusOr<std::map<std::string, ServiceState>> processes = Processes();
    if (processes.ok() && processes->count(name) > 0) {
      const ServiceState& s = processes->at(name);
      last = absl::StrCat("pid ", s.pid, ", restarts ", s.restarts, s.exit_code ? ", exited" : ", running");
      const std::string ready = ReadFile(s.ready_file);
      if (!s.exit_code && s.restarts >= min_restarts && !ready.empty() && core::ReadJsonInt(ready, "pid").value_or(0) == s.pid) {
        return s;
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(name, " not running with >= ", min_restarts, " restarts (", last, ")"));
}

absl::StatusOr<std::vector<metrics::Sample>> RftRun::Scrape(const std::string& name) {
  VLARFT_ASSIGN_OR_RETURN(ServiceState service, WaitForService(name, 0, absl::Seconds(5)));
  VLARFT_ASSIGN_OR_RETURN(const int port, core::ReadJsonInt(ReadFile(service.ready_file), "metrics_port"));
  VLARFT_ASSIGN_OR_RETURN(std::string text, vlarft::testing::HttpGet(port, "/metrics", absl::Seconds(5)));
  return metrics::ParsePrometheusText(text);
}

absl::Status RftRun::WaitForLearnerStep(double step, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  absl::Status last = absl::UnavailableError("not scraped yet");
  while (absl::Now() < give_up && launcher_.running()) {
    absl::StatusOr<std::vector<metrics::Sample>> samples = Scrape("learner-rank0");
    if (samples.ok()) {
      const std::optional<double> current = metrics::FindSample(*samples, "vlarft_learner_step");
      if (current.has_value() && *current >= step) return absl::OkStatus();
      last = absl::NotFoundError(absl::StrCat("vlarft_learner_step ", current.value_or(-1)));
    } else {
      last = samples.status();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(absl::StrCat("learner step ", step, " not reached (launcher ",
                                                  launcher_.running() ? "running" : "exited", "): ", last.ToString()));
}

absl::StatusOr<nlohmann::json> RftRun::Results() const {
  const std::string text = ReadFile(out_dir_ + "/results.json");
  const nlohmann::json results = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (text.empty() || results.is_discarded()) return absl::DataLossError("results.json missing or malformed: " + text);
  return results;
}

std::vector<int> RftRun::LivePids(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    std::vector<int> live;
    for (int pid : seen_pids_) {
      if (Alive(pid)) live.push_back(pid);
    }
    if (live.empty() || absl::Now() >= give_up) return live;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::string RftRun::Diagnostics() const {
  std::string text = absl::StrCat("--- launcher ---\n", Tail(launcher_.ReadLog(), 4000));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out_dir_ + "/logs", ec)) {
    absl::StrAppend(&text, "\n--- ", entry.path().filename().string(), " ---\n", Tail(ReadFile(entry.path().string()), 2500));
  }
  return text;
}

}  // namespace vlarft::pipeline_testing
