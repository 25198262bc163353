// Shared-token authentication for clusters (docs/architecture.md, "Processes"). Each RPC handler calls Check() first;
// health checks and reflection are not behind it so orchestrator probes keep working.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace vlarft::services {

class TokenVerifier {
 public:
  // Reads the token from environment variable `env_name` (empty name: authentication disabled).
  // FAILED_PRECONDITION if the variable is named but unset or empty.
  static absl::StatusOr<TokenVerifier> FromEnvironment(const std::string& env_name);
  static TokenVerifier Disabled() { return TokenVerifier(""); }
  explicit TokenVerifier(std::string token) : token_(std::move(token)) {}

  bool enabled() const { return !token_.empty(); }
  // UNAUTHENTICATED unless the call carries "authorization: Bearer <token>".
  absl::Status Check(const grpc::ServerContext& context) const;

 private:
  std::string token_;
};

}  // namespace vlarft::services
