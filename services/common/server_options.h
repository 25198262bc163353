// Options every server binary takes on its command line (docs/architecture.md, "Processes"): where to listen, where to
// serve metrics, message-size limits, shutdown grace, and optional TLS / shared-token security.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vlarft::services {

struct ServerOptions {
  // Loopback unless told otherwise: a service reachable from other machines (the deploy manifests
  // and the Slurm script pass --host=0.0.0.0) is a choice, not a default.
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port (reported in the ready file)
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 0;  // 0: pick a free port; -1: no metrics endpoint
  // A second, plaintext gRPC port serving only grpc.health.v1 (and reflection, which gRPC adds to
  // every server of the process) on `host`, for probes that cannot speak TLS (Kubernetes' grpc probe)
  // when the main port uses TLS. -1: none; 0: any free port.
  int health_port = -1;
  int max_message_mb = 512;
  double shutdown_grace_s = 10.0;  // in-flight RPCs get this long to finish on SIGTERM
  // JSON {"pid", "port", "metrics_port"} written atomically once serving; launchers and tests wait
  // for it instead of parsing logs.
  std::string ready_file;
  // Shared-token check: clients must send "authorization: Bearer <token>". Empty: disabled. The
  // token is read from this environment variable so it never appears in process listings.
  std::string auth_token_env;
  // TLS: both set to enable; tls_client_ca_file additionally requires client certificates (mTLS).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // > 0: the launcher's pid; this process gets SIGTERM (graceful shutdown) when the launcher dies.
  int parent_pid = 0;
  // Check instead of serve, then exit (0: valid; 1: the first problem, named). "config": the
  // configuration alone (required keys, ranges, cross-field rules, device spelling), for a machine
  // other than the one the service will run on (CI validating a GPU overlay). "full": everything
  // short of serving on this machine: the device exists, every checkpoint and dataset the config
  // names loads, TLS files and the auth token are readable. Empty: serve.
  std::string validate;
  // Config document (YAML) and overrides are taken by the command-line parser itself (--config,
  // --set); see libs/core/command_line.h.

  template <typename V>
  void VisitFields(V& v) {
    v.Field("host", host, "address to listen on (0.0.0.0: every interface)");
    v.Field("port", port, "gRPC port (0 = any free port)");
    v.Field("metrics_host", metrics_host, "address of the Prometheus /metrics endpoint");
    v.Field("metrics_port", metrics_port, "Prometheus port (0 = any free port, -1 = disabled)");
    v.Field("health_port", health_port,
            "plaintext port serving only grpc.health.v1, for probes when the main port uses TLS (-1 = none, 0 = any)");
    v.Field("max_message_mb", max_message_mb, "largest gRPC message accepted or sent, MiB");
    v.Field("shutdown_grace_s", shutdown_grace_s, "seconds in-flight RPCs get to finish on SIGTERM");
    v.Field("ready_file", ready_file, "write {pid, port, metrics_port} JSON here once serving");
    v.Field("auth_token_env", auth_token_env, "environment variable holding the shared bearer token");
    v.Field("tls_cert_file", tls_cert_file, "PEM server certificate (enables TLS with tls_key_file)");
    v.Field("tls_key_file", tls_key_file, "PEM server private key");
    v.Field("tls_client_ca_file", tls_client_ca_file, "PEM CA bundle; set to require client certs");
    v.Field("parent_pid", parent_pid, "launcher pid: shut down (as on SIGTERM) when it exits; 0 = off");
    v.Field("validate", validate,
            "config | full: check instead of serving and exit (config: the configuration alone; full: also "
            "the device, checkpoints, dataset, TLS files and token on this machine)");
  }

  bool validating() const { return !validate.empty(); }
  bool validating_config_only() const { return validate == "config"; }

  absl::Status Validate() const {
    if (port < 0 || port > 65535) return absl::InvalidArgumentError(absl::StrCat("port ", port, " out of range"));
    if (metrics_port < -1 || metrics_port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("metrics_port ", metrics_port, " out of range"));
    }
    if (health_port < -1 || health_port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("health_port ", health_port, " out of range"));
    }
    if (max_message_mb < 1 || max_message_mb > 2047) {
      return absl::InvalidArgumentError("max_message_mb must be in [1, 2047]");
    }
    if (parent_pid < 0) return absl::InvalidArgumentError("parent_pid must be >= 0");
    if (!validate.empty() && validate != "config" && validate != "full") {
      return absl::InvalidArgumentError(absl::StrCat("validate must be config or full, got '", validate, "'"));
    }
    if (shutdown_grace_s < 0) return absl::InvalidArgumentError("shutdown_grace_s must be >= 0");
    if (tls_cert_file.empty() != tls_key_file.empty()) {
      return absl::InvalidArgumentError("tls_cert_file and tls_key_file must be set together");
    }
    if (!tls_client_ca_file.empty() && tls_cert_file.empty()) {
      return absl::InvalidArgumentError("tls_client_ca_file needs tls_cert_file and tls_key_file");
    }
    return absl::OkStatus();
  }
};

}  // namespace vlarft::services
