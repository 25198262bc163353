// Client-side conventions (docs/architecture.md, "Processes"): every call has a deadline, UNAVAILABLE is retried with
// exponential backoff and jitter (a peer restarting is routine, not an error), and the channel
// reconnects by itself after the peer comes back.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/grpc_status.h"

namespace vlarft::services {

struct ClientOptions {
  std::string target;  // "host:port"
  int max_message_mb = 512;
  // TLS: set tls_ca_file to verify the server; add cert+key for mTLS.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string auth_token_env;  // environment variable with the shared bearer token

  template <typename V>
  void VisitFields(V& v) {
    v.Field("target", target, "host:port of the server");
    v.Field("max_message_mb", max_message_mb, "largest message sent or received, MiB");
    v.Field("tls_ca_file", tls_ca_file, "PEM CA bundle to verify the server (enables TLS)");
    v.Field("tls_cert_file", tls_cert_file, "PEM client certificate for mTLS");
    v.Field("tls_key_file", tls_key_file, "PEM client private key for mTLS");
    v.Field("auth_token_env", auth_token_env, "environment variable with the shared bearer token");
  }
};

struct RetryPolicy {
  int max_attempts = 8;
  absl::Duration per_attempt_timeout = absl::Seconds(30);
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  double backoff_multiplier = 2.0;
  // Overall bound across attempts and backoffs.
  absl::Duration total_timeout = absl::Seconds(120);
  // Also retry RESOURCE_EXHAUSTED (server backpressure) — right for idempotent submissions.
  bool retry_resource_exhausted = false;
  // Set: no further attempt starts (and backoff sleeps end) once it reads true, e.g. when the
  // process is shutting down; the call then returns CANCELLED. The attempt in flight is not cut.
  const std::atomic<bool>* cancel = nullptr;
};

// A channel with the project's limits and credentials; INVALID_ARGUMENT / NOT_FOUND for unreadable
// TLS files. Channels are cheap to share between threads and reconnect automatically.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options);

// Prepares a context for one attempt: deadline and the bearer token (if configured).
class CallContextFactory {
 public:
  static absl::StatusOr<CallContextFactory> Create(const ClientOptions& options);
  CallContextFactory() = default;
  std::unique_ptr<grpc::ClientContext> New(absl::Duration timeout) const;

 private:
  std::string bearer_;  // "Bearer <token>" or empty
};

// True for codes worth retrying under `policy`.
bool IsRetryable(grpc::StatusCode code, const RetryPolicy& policy);

// Calls `attempt(context)` until it succeeds, fails with a non-retryable code, or the policy's
// attempts/time run out. `attempt` must be idempotent (our RPCs are: submissions carry ids).
template <typename Attempt>
absl::Status CallWithRetry(const CallContextFactory& contexts, const RetryPolicy& policy,
                           Attempt&& attempt) {
  const absl::Time give_up = absl::Now() + policy.total_timeout;
  absl::Duration backoff = policy.initial_backoff;
  std::mt19937_64 jitter(std::random_device{}());
  grpc::Status last;
  auto cancelled = [&policy] { return policy.cancel != nullptr && policy.cancel->load(); };
  for (int i = 0; i < policy.max_attempts; ++i) {
    if (cancelled()) {
      return absl::CancelledError(absl::StrCat("cancelled after ", i, " attempts: ", FromGrpcStatus(last).message()));
    }
    const absl::Duration remaining = give_up - absl::Now();
    if (remaining <= absl::ZeroDuration()) break;
    std::unique_ptr<grpc::ClientContext> context =
        contexts.New(std::min(policy.per_attempt_timeout, remaining));
    last = attempt(*context);
    if (last.ok() || !IsRetryable(last.error_code(), policy)) return FromGrpcStatus(last);
    // Full jitter: sleep uniformly in [backoff/2, backoff] so restarted peers are not stampeded.
    std::uniform_real_distribution<double> fraction(0.5, 1.0);
    const absl::Duration sleep = std::min(backoff * fraction(jitter), give_up - absl::Now());
    const absl::Time wake = absl::Now() + sleep;
    for (absl::Duration left = sleep; left > absl::ZeroDuration() && !cancelled(); left = wake - absl::Now()) {
      std::this_thread::sleep_for(absl::ToChronoNanoseconds(std::min(left, absl::Milliseconds(50))));
    }
    backoff = std::min(backoff * policy.backoff_multiplier, policy.max_backoff);
  }
  const absl::Status status = FromGrpcStatus(last);
  return absl::Status(status.code(), absl::StrCat("giving up after retries: ", status.message()));
}

// grpc.health.v1 check of `service` ("" = the whole server). SERVING -> OK; NOT_SERVING ->
// UNAVAILABLE; transport errors as they come. Implemented on the generic stub, so no copy of the
// health proto is needed.
absl::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         absl::Duration timeout);

// Polls CheckHealth until SERVING or `timeout` passes.
absl::Status WaitForHealthy(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                            absl::Duration timeout);

}  // namespace vlarft::services
