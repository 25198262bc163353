#include "services/common/auth.h"

#include <cstdlib>

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
  if (it == metadata.end()) return absl::UnauthenticatedError("missing authorization metadata");
  const std::string presented(it->second.data(), it->second.size());
  if (!SecureEquals(presented, "Bearer " + token_)) return absl::UnauthenticatedError("invalid token");
  return absl::OkStatus();
}

}  // namespace vlarft::services
