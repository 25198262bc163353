#include "services/common/auth.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vlarft::services {
namespace {

// Constant-time comparison so response timing does not leak how much of a guess was right.
bool SecureEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<TokenVerifier> TokenVerifier::FromEnvironment(const std::string& env_name) {
  if (env_name.empty()) return TokenVerifier::Disabled();
  const char* value = std::getenv(env_name.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::FailedPreconditionError(
        absl::StrCat("auth_token_env names ", env_name, " but that environment variable is unset or empty"));
  }
  return TokenVerifier(value);
}

absl::Status TokenVerifier::Check(const grpc::ServerContext& context) const {
  if (!enabled()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckHeader(nullptr);
  const std::string presented(it->second.data(), it->second.size());
  return CheckHeader(&presented);
}

absl::Status TokenVerifier::CheckHeader(const std::string* authorization) const {
  if (!enabled()) return absl::OkStatus();
  if (authorization == nullptr) return absl::UnauthenticatedError("missing authorization metadata");
  if (!SecureEquals(*authorization, "Bearer " + token_)) return absl::UnauthenticatedError("invalid token");
  return absl::OkStatus();
}

namespace {

class TokenAuthProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenAuthProcessor(TokenVerifier verifier) : verifier_(std::move(verifier)) {}

  // A string comparison: cheap enough to run on gRPC's own thread.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* /*context*/,
                       OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) override {
    const auto path = auth_metadata.find(":path");
    if (path != auth_metadata.end()) {
      const absl::string_view method(path->second.data(), path->second.size());
      if (absl::StartsWith(method, "/grpc.health.v1.Health/") || absl::StartsWith(method, "/grpc.reflection.")) {
        return grpc::Status::OK;
      }
    }
    const auto header = auth_metadata.find("authorization");
    std::string value;
    if (header != auth_metadata.end()) value.assign(header->second.data(), header->second.size());
    const absl::Status status = verifier_.CheckHeader(header == auth_metadata.end() ? nullptr : &value);
    if (status.ok()) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(status.message()));
  }

 private:
  TokenVerifier verifier_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> MakeTokenAuthProcessor(TokenVerifier verifier) {
  return std::make_shared<TokenAuthProcessor>(std::move(verifier));
}

}  // namespace vlarft::services
