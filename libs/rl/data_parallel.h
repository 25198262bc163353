// Data parallelism for the learner through LibTorch's c10d (docs/architecture.md, "Dependencies"): a TCPStore rendezvous and
// a ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds) — not a home-made all-reduce.
// With world_size 1 no process group is created and every collective is a no-op.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/torch_compat.h"

namespace vlarft::rl {

struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";  // rank 0's address (k8s: the headless Service name of pod 0)
  int master_port = 29500;
  std::string backend = "auto";           // auto | gloo | nccl (auto: nccl when tensors live on CUDA)
  double timeout_s = 600;
  std::string gloo_hostname = "127.0.0.1";  // address Gloo binds its pairs to on this rank

  template <typename V>
  void VisitFields(V& v) {
    v.Field("rank", rank, "this process's rank (0 receives rollouts over gRPC)");
    v.Field("world_size", world_size, "number of learner ranks");
    v.Field("master_addr", master_addr, "TCPStore host (rank 0)");
    v.Field("master_port", master_port, "TCPStore port");
    v.Field("backend", backend, "auto | gloo | nccl");
    v.Field("timeout_s", timeout_s, "collective and rendezvous timeout, seconds");
    v.Field("gloo_hostname", gloo_hostname, "interface address Gloo uses on this rank");
  }
  absl::Status Validate() const;
};

class DataParallelGroup {
 public:
  // Rendezvous with the other ranks (blocks until all world_size ranks joined or timeout).
  static absl::StatusOr<std::unique_ptr<DataParallelGroup>> Create(const DistributedConfig& config,
                                                                   const torch::Device& device);
  ~DataParallelGroup();

  // Whether this build can create `backend` ("gloo" | "nccl") groups of more than one rank: Gloo needs
  // LibTorch's Gloo headers (Debian's has them, pip wheels do not), NCCL a CUDA LibTorch and nccl.h.
  static bool BackendCompiledIn(const std::string& backend);

  int rank() const { return config_.rank; }
  int world_size() const { return config_.world_size; }
  const std::string& backend() const { return backend_; }

  // Averages `tensors` across ranks in place (flattened into one buffer: one collective per call).
  absl::Status AllReduceMean(const std::vector<torch::Tensor>& tensors);
  // Copies rank `root`'s values of `tensors` to every rank, in place.
  absl::Status Broadcast(const std::vector<torch::Tensor>& tensors, int root);
  // Sends a byte string from `root` to every rank (used to ship serialized rollout shards).
  absl::Status BroadcastBytes(std::string* bytes, int root);
  absl::Status Barrier();

 private:
  struct Impl;
  DataParallelGroup(DistributedConfig config, std::string backend, std::unique_ptr<Impl> impl);
  DistributedConfig config_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlarft::rl
