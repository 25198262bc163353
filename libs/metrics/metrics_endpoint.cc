#include "libs/metrics/metrics_endpoint.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vlarft::metrics {

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                                 std::shared_ptr<prometheus::Registry> registry, int port)
    : exposer_(std::move(exposer)), registry_(std::move(registry)), port_(port) {}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& host,
                                                                        int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", port, " is out of range"));
  }
  const std::string address = absl::StrCat(host, ":", port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // civetweb throws when it cannot bind; report it instead of terminating.
    // civetweb serves one connection per thread and waits request_timeout_ms (30 s by default) for
    // a request on it, so two idle connections used to starve the scraper for 30 s. Enough
    // threads for a few stray connections, and a short wait for the request.
    exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address, "num_threads", "8", "request_timeout_ms", "2000"});
  } catch (const std::exception& e) {
    // A known cause besides a busy port: with OpenBLAS loaded into the process (e.g. as the
    // libblas.so.3 alternative LibTorch links), civetweb's start-up fails; see docs/results.md.
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what(),
                                               " (port busy, or OpenBLAS loaded in this process)"));
  }
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("metrics exposer on ", address, " did not bind"));
  auto registry = std::make_shared<prometheus::Registry>();
  exposer->RegisterCollectable(registry);
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(exposer), std::move(registry), ports[0]));
}

}  // namespace vlarft::metrics
