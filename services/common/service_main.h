// What every service main() does before its own work: parse the command line into ServerOptions
// (flags) and the service's config section (YAML from --config plus --set overrides), print help,
// and set up glog. Keeping it here means the four services cannot drift apart.
#pragma once

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "glog/logging.h"
#include "services/common/server_options.h"
#include "services/common/shutdown_signal.h"

namespace vlarft::services {

template <typename Config>
struct ServiceInvocation {
  ServerOptions server;
  Config config;
  bool help = false;
  std::string help_text;
};

// Sets glog to log to stderr with the binary name; call once at the top of main().
void InitServiceLogging(const char* argv0);

// A config key read from an environment variable when the variable is set: the learner takes the
// rendezvous from MASTER_ADDR / MASTER_PORT / WORLD_SIZE / RANK as PyTorchJob, JobSet and torchrun set
// them. Precedence: config file < environment < --set.
struct EnvironmentOverride {
  const char* variable;
  const char* key;  // relative to the whole document, e.g. "learner.distributed.rank"
};

// Parses argv: server flags (--port, --metrics_port, ...), --config FILE, --set key=value (keys are
// relative to the whole document, e.g. simulator.max_batch=8), --help. `section` is the config
// document's key for this service ("simulator").
template <typename Config>
absl::StatusOr<ServiceInvocation<Config>> ParseServiceInvocation(int argc, char** argv, const std::string& section,
                                                                 const std::vector<EnvironmentOverride>& environment = {}) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<core::ParsedCommandLine> parsed = core::ParseCommandLine(args);
  if (!parsed.ok()) return parsed.status();
  ServiceInvocation<Config> invocation;
  if (parsed->help) {
    invocation.help = true;
    invocation.help_text = absl::StrCat(
        "usage: ", argv[0], " [server options] [--config FILE] [--set ", section, ".key=value ...]\n\n",
        "server options:\n", core::OptionsHelp(ServerOptions{}), "\n", section, " config (YAML section '",
        section, "'):\n", core::OptionsHelp(Config{}, section, "--set "));
    return invocation;
  }
  if (!parsed->positional.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", parsed->positional[0], "'"));
  }
  absl::Status status = core::BindOptions(*parsed, &invocation.server);
  if (!status.ok()) return status;
  std::vector<std::string> overrides;
  for (const EnvironmentOverride& e : environment) {
    if (const char* value = std::getenv(e.variable); value != nullptr && *value != '\0') {
      overrides.push_back(absl::StrCat(e.key, "=", value));
    }
  }
  overrides.insert(overrides.end(), parsed->config_overrides.begin(), parsed->config_overrides.end());
  absl::StatusOr<Config> config = core::LoadConfig<Config>(parsed->config_file, overrides, section);
  if (!config.ok()) return config.status();
  invocation.config = *std::move(config);
  return invocation;
}

// The whole main() of a service binary: block signals, set up logging, parse the invocation (exit 2
// with the message on bad flags/config, print help and exit 0 on --help), run, and map the result to
// an exit status (0 ok, 1 with the error logged and printed). With --validate, `run` returns before
// serving and a valid configuration prints "<binary>: configuration valid (<level>)".
template <typename Config>
int ServiceMain(int argc, char** argv, const std::string& section, const std::string& binary,
                absl::Status (*run)(const ServiceInvocation<Config>&, ShutdownSignal&),
                const std::vector<EnvironmentOverride>& environment = {}) {
  ShutdownSignal signals;  // first: every thread started later inherits the blocked signals
  InitServiceLogging(argv[0]);
  absl::StatusOr<ServiceInvocation<Config>> invocation =
      ParseServiceInvocation<Config>(argc, argv, section, environment);
  if (!invocation.ok()) {
    std::cerr << binary << ": " << invocation.status().message() << "\n";
    return 2;
  }
  if (invocation->help) {
    std::cout << invocation->help_text;
    return 0;
  }
  absl::Status status = absl::OkStatus();
  if (invocation->server.parent_pid > 0) status = TerminateWithParent(invocation->server.parent_pid);
  if (status.ok()) status = run(*invocation, signals);
  // The service has shut down and the process is exiting: a shutdown request that arrives now (a
  // rollout worker that stopped because the learner finished, just as the launcher sends SIGTERM)
  // is already satisfied. Ignored, it cannot kill the exit in progress (status 143) once
  // ~ShutdownSignal restores the signal mask. A hung exit is still stopped by SIGKILL.
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);
  if (!status.ok()) {
    LOG(ERROR) << "event=fatal " << status;
    std::cerr << binary << ": " << status.message() << "\n";
    return 1;
  }
  if (invocation->server.validating()) {
    std::cout << binary << ": configuration valid (" << invocation->server.validate << ")\n";
  }
  return 0;
}

}  // namespace vlarft::services
