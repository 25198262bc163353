// Shared-token authentication for clusters (docs/architecture.md, "Processes"). Each RPC handler calls Check() first;
// health checks and reflection are not behind it so orchestrator probes keep working.
//
// On a TLS port the token is also checked before gRPC reads a request's body
// (MakeTokenAuthProcessor, installed by ServiceServer): an unauthenticated client cannot make the
// server receive a 500 MiB message first. gRPC runs such processors on secure ports only, so on a
// plaintext port the handler's Check() is the only check — the token is sent in the clear there
// anyway; docs/operations.md says to use TLS wherever the token matters.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
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
  // The same check on the header's value (nullptr: the header is absent).
  absl::Status CheckHeader(const std::string* authorization) const;

 private:
  std::string token_;
};

// The token check as a gRPC auth metadata processor, for SslServerCredentials: runs on the call's
// headers before its message is read. Health checks and reflection pass without a token, as in the
// handlers.
std::shared_ptr<grpc::AuthMetadataProcessor> MakeTokenAuthProcessor(TokenVerifier verifier);

}  // namespace vlarft::services
