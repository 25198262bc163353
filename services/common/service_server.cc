#include "services/common/service_server.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "libs/core/file_io.h"
#include "libs/core/status.h"
#include "services/common/auth.h"
#include "services/common/rpc_metrics_interceptor.h"

namespace vlarft::services {

namespace {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const ServerOptions& options) {
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(options.tls_client_ca_file.empty()
                                            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  VLARFT_ASSIGN_OR_RETURN(pair.cert_chain, core::ReadFileToString(options.tls_cert_file));
  VLARFT_ASSIGN_OR_RETURN(pair.private_key, core::ReadFileToString(options.tls_key_file));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls_client_ca_file.empty()) {
    VLARFT_ASSIGN_OR_RETURN(ssl.pem_root_certs, core::ReadFileToString(options.tls_client_ca_file));
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(ssl);
  if (!options.auth_token_env.empty()) {
    // The token is checked on the headers, before the body is read (auth.h); handlers check again.
    VLARFT_ASSIGN_OR_RETURN(TokenVerifier verifier, TokenVerifier::FromEnvironment(options.auth_token_env));
    credentials->SetAuthMetadataProcessor(MakeTokenAuthProcessor(std::move(verifier)));
  }
  return credentials;
}

}  // namespace

absl::Status ValidateServerFiles(const ServerOptions& options) {
  VLARFT_RETURN_IF_ERROR(options.Validate());
  return MakeCredentials(options).status();
}

ServiceServer::ServiceServer(std::string name, ServerOptions options, std::unique_ptr<metrics::MetricsEndpoint> metrics,
                             std::unique_ptr<metrics::RpcMetrics> rpc_metrics, std::unique_ptr<grpc::Server> server,
                             int port)
    : name_(std::move(name)),
      options_(std::move(options)),
      metrics_(std::move(metrics)),
      rpc_metrics_(std::move(rpc_metrics)),
      server_(std::move(server)),
      port_(port) {}

absl::StatusOr<std::unique_ptr<metrics::MetricsEndpoint>> StartMetricsEndpoint(const ServerOptions& options) {
  VLARFT_RETURN_IF_ERROR(options.Validate());
  if (options.metrics_port < 0) return std::unique_ptr<metrics::MetricsEndpoint>();
  return metrics::MetricsEndpoint::Start(options.metrics_host, options.metrics_port);
}

absl::StatusOr<std::unique_ptr<ServiceServer>> ServiceServer::Start(
    const ServerOptions& options, const std::vector<grpc::Service*>& services,
    const std::string& name, std::unique_ptr<metrics::MetricsEndpoint> metrics, const std::string& rpc_service) {
  VLARFT_RETURN_IF_ERROR(options.Validate());
  if (metrics == nullptr) {
    VLARFT_ASSIGN_OR_RETURN(metrics, StartMetricsEndpoint(options));
  }
  VLARFT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, MakeCredentials(options));

  // Both are process-wide switches of the gRPC library that must be set before a server is built.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int bound_port = 0;
  const std::string address = absl::StrCat(options.host, ":", options.port);
  builder.AddListeningPort(address, credentials, &bound_port);
  // gRPC enables SO_REUSEPORT by default, which lets a second server silently share a busy port
  // (and half the traffic). A port conflict must be a startup error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  const int max_bytes = options.max_message_mb * 1024 * 1024;
  builder.SetMaxReceiveMessageSize(max_bytes);
  builder.SetMaxSendMessageSize(max_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<metrics::RpcMetrics> rpc_metrics;
  if (metrics != nullptr && !services.empty()) {
    rpc_metrics = std::make_unique<metrics::RpcMetrics>(metrics->registry(), rpc_service.empty() ? name : rpc_service);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(MakeRpcMetricsInterceptorFactory(rpc_metrics.get()));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(absl::StrCat(name, ": cannot listen on ", address));
  }
  server->GetHealthCheckService()->SetServingStatus(true);

  auto result = std::unique_ptr<ServiceServer>(
      new ServiceServer(name, options, std::move(metrics), std::move(rpc_metrics), std::move(server), bound_port));
  VLARFT_RETURN_IF_ERROR(result->StartHealthServer());
  LOG(INFO) << "event=serving service=" << name << " port=" << result->port()
            << " metrics_port=" << result->metrics_port() << " health_port=" << result->health_port()
            << " tls=" << !options.tls_cert_file.empty();
  if (!options.ready_file.empty()) {
    const std::string ready = absl::StrCat("{\"pid\": ", getpid(), ", \"port\": ", result->port(),
                                           ", \"metrics_port\": ", result->metrics_port(),
                                           ", \"health_port\": ", result->health_port(), "}\n");
    VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically(options.ready_file, ready));
  }
  return result;
}

absl::Status ServiceServer::StartHealthServer() {
  if (options_.health_port < 0) return absl::OkStatus();
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(options_.host, ":", options_.health_port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &health_port_);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // No services: the default health service (and reflection; both are process-wide switches set in
  // Start) is all it serves, and requests are tiny, so a small receive limit keeps this
  // unauthenticated port cheap to expose.
  builder.SetMaxReceiveMessageSize(4096);
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    health_port_ = -1;
    return absl::UnavailableError(absl::StrCat(name_, ": cannot listen for health checks on ", address));
  }
  health_server_->GetHealthCheckService()->SetServingStatus(true);
  return absl::OkStatus();
}

void ServiceServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  LOG(INFO) << "event=draining service=" << name_ << " grace_s=" << options_.shutdown_grace_s;
  server_->GetHealthCheckService()->SetServingStatus(false);
  if (health_server_) health_server_->GetHealthCheckService()->SetServingStatus(false);
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(options_.shutdown_grace_s * 1000));
  server_->Shutdown(deadline);
  server_->Wait();
  if (health_server_) {
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
  }
  if (!options_.ready_file.empty()) std::remove(options_.ready_file.c_str());
  LOG(INFO) << "event=stopped service=" << name_;
}

ServiceServer::~ServiceServer() {
  if (!shut_down_) {
    options_.shutdown_grace_s = 0;
    Shutdown();
  }
}

}  // namespace vlarft::services
