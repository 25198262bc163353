#include "services/common/client.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "libs/core/file_io.h"
#include "libs/core/status.h"
#include "services/common/service_server.h"

namespace vlarft::services {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("client target is empty");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    VLARFT_ASSIGN_OR_RETURN(ssl.pem_root_certs, core::ReadFileToString(options.tls_ca_file));
    if (!options.tls_cert_file.empty()) {
      VLARFT_ASSIGN_OR_RETURN(ssl.pem_cert_chain, core::ReadFileToString(options.tls_cert_file));
      VLARFT_ASSIGN_OR_RETURN(ssl.pem_private_key, core::ReadFileToString(options.tls_key_file));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  const int max_bytes = options.max_message_mb * 1024 * 1024;
  args.SetMaxReceiveMessageSize(max_bytes);
  args.SetMaxSendMessageSize(max_bytes);
  // Reconnect quickly after a peer restart instead of the default exponential wait (up to 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

absl::StatusOr<CallContextFactory> CallContextFactory::Create(const ClientOptions& options) {
  CallContextFactory factory;
  if (!options.auth_token_env.empty()) {
    const char* token = std::getenv(options.auth_token_env.c_str());
    if (token == nullptr || *token == '\0') {
      return absl::FailedPreconditionError(absl::StrCat(
          "auth_token_env names ", options.auth_token_env, " but that environment variable is unset"));
    }
    factory.bearer_ = absl::StrCat("Bearer ", token);
  }
  return factory;
}

std::unique_ptr<grpc::ClientContext> CallContextFactory::New(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!bearer_.empty()) context->AddMetadata("authorization", bearer_);
  return context;
}

bool IsRetryable(grpc::StatusCode code, const RetryPolicy& policy) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         (policy.retry_resource_exhausted && code == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

namespace {

// grpc.health.v1.HealthCheckRequest{service = 1 (string)} in protobuf wire format.
grpc::ByteBuffer EncodeHealthRequest(const std::string& service) {
  std::string bytes;
  if (!service.empty()) {
    bytes.push_back(0x0a);  // field 1, length-delimited
    size_t n = service.size();
    while (n >= 0x80) {
      bytes.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    bytes.push_back(static_cast<char>(n));
    bytes += service;
  }
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// grpc.health.v1.HealthCheckResponse{status = 1 (enum)}: 1 = SERVING, 2 = NOT_SERVING.
int DecodeHealthStatus(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.empty()) return 0;  // proto3 default: UNKNOWN
  if (bytes.size() < 2 || bytes[0] != 0x08) return -1;
  return static_cast<unsigned char>(bytes[1]);
}

}  // namespace

absl::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", EncodeHealthRequest(service), &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  if (!status.ok()) return FromGrpcStatus(status);
  const int serving = DecodeHealthStatus(response);
  if (serving == 1) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("health of '", service, "' is ",
                                             serving == 2 ? "NOT_SERVING" : "UNKNOWN"));
}

absl::Status WaitForHealthy(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                            absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  absl::Status last = absl::DeadlineExceededError("not checked");
  while (absl::Now() < give_up) {
    last = CheckHealth(channel, service, std::min(absl::Seconds(2), give_up - absl::Now()));
    if (last.ok()) return last;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("server not healthy after ", absl::FormatDuration(timeout),
                                                  ": ", last.message()));
}

}  // namespace vlarft::services
