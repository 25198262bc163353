#include "libs/rl/data_parallel.h"

#include <chrono>
#include <cstring>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// Debian's LibTorch ships Gloo's headers; PyTorch's pip wheels (the usual CUDA LibTorch) do not, and
// their NCCL header lives in a separate package that CMake adds only when it finds it. Each backend is
// compiled in when its headers are there; asking for a missing one is a clear error, not a build break.
#if __has_include(<gloo/algorithm.h>)
#define VLARFT_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(VLARFT_WITH_NCCL) && __has_include(<nccl.h>)
#define VLARFT_HAVE_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vlarft::rl {

absl::Status DistributedConfig::Validate() const {
  if (world_size < 1) return absl::InvalidArgumentError("world_size must be >= 1");
  if (rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", rank, " is outside [0, ", world_size, ")"));
  }
  if (master_port < 1 || master_port > 65535) return absl::InvalidArgumentError("master_port out of range");
  if (backend != "auto" && backend != "gloo" && backend != "nccl") {
    return absl::InvalidArgumentError(absl::StrCat("backend must be auto, gloo or nccl, got '", backend, "'"));
  }
  return absl::OkStatus();
}

bool DataParallelGroup::BackendCompiledIn(const std::string& backend) {
#if defined(VLARFT_HAVE_GLOO)
  if (backend == "gloo") return true;
#endif
#if defined(VLARFT_HAVE_NCCL)
  if (backend == "nccl") return true;
#endif
  return false;
}

// The object collectives run on: in 1.13 ProcessGroupGloo/NCCL derive from ProcessGroup, in 2.x from
// c10d::Backend (ProcessGroup became a dispatcher over backends).
#if VLARFT_TORCH_AT_LEAST(2, 0) && (defined(VLARFT_HAVE_GLOO) || defined(VLARFT_HAVE_NCCL))
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

struct DataParallelGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveGroup> group;
};

DataParallelGroup::DataParallelGroup(DistributedConfig config, std::string backend, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), backend_(std::move(backend)), impl_(std::move(impl)) {}

DataParallelGroup::~DataParallelGroup() = default;

absl::StatusOr<std::unique_ptr<DataParallelGroup>> DataParallelGroup::Create(const DistributedConfig& config,
                                                                             const torch::Device& device) {
  VLARFT_RETURN_IF_ERROR(config.Validate());
  std::string backend = config.backend;
  if (backend == "auto") backend = device.is_cuda() ? "nccl" : "gloo";
  auto impl = std::make_unique<Impl>();
  if (config.world_size == 1) {
    return std::unique_ptr<DataParallelGroup>(new DataParallelGroup(config, backend, std::move(impl)));
  }
  if (!BackendCompiledIn(backend)) {  // before the rendezvous, so no peer waits on a rank that cannot join
    const char* remedy = backend == "gloo" ? "its LibTorch ships no Gloo headers; use nccl"
                                           : "configure a CUDA LibTorch with -DVLARFT_USE_NCCL=ON";
    return absl::FailedPreconditionError(
        absl::StrCat("backend ", backend, " is not compiled into this build (", remedy, ")"));
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config.timeout_s * 1000));
  absl::Status status = core::CatchTorchErrorsVoid(
      absl::StrCat("rendezvous at ", config.master_addr, ":", config.master_port, " as rank ", config.rank, "/",
                   config.world_size),
      [&] {
        c10d::TCPStoreOptions options;
        options.port = static_cast<uint16_t>(config.master_port);
        options.isServer = config.rank == 0;
        options.numWorkers = config.world_size;
        options.waitWorkers = true;
        options.timeout = timeout;
        impl->store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
        if (backend == "gloo") {
#if defined(VLARFT_HAVE_GLOO)
          auto gloo_options = c10d::ProcessGroupGloo::Options::create();
          gloo_options->timeout = timeout;
          gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(config.gloo_hostname));
          impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, config.rank, config.world_size,
                                                                     gloo_options);
#endif
        } else {  // nccl; BackendCompiledIn above rules out a backend this build lacks
#if defined(VLARFT_HAVE_NCCL)
          auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
          impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, config.rank, config.world_size,
                                                                     nccl_options);
#endif
        }
      });
  if (!status.ok()) return absl::UnavailableError(status.message());
  return std::unique_ptr<DataParallelGroup>(new DataParallelGroup(config, backend, std::move(impl)));
}

absl::Status DataParallelGroup::AllReduceMean(const std::vector<torch::Tensor>& tensors) {
  if (config_.world_size == 1 || tensors.empty()) return absl::OkStatus();
  return core::CatchTorchErrorsVoid("all-reduce", [&] {
    std::vector<torch::Tensor> flat_parts;
    for (const torch::Tensor& t : tensors) flat_parts.push_back(t.reshape({-1}));
    std::vector<torch::Tensor> buffer = {torch::cat(flat_parts)};
    impl_->group->allreduce(buffer)->wait();
    buffer[0].div_(config_.world_size);
    int64_t offset = 0;
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& t : tensors) {
      t.copy_(buffer[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  });
}

absl::Status DataParallelGroup::Broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  if (config_.world_size == 1 || tensors.empty()) return absl::OkStatus();
  return core::CatchTorchErrorsVoid("broadcast", [&] {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (const torch::Tensor& t : tensors) {
      std::vector<torch::Tensor> one = {t};
      impl_->group->broadcast(one, options)->wait();
    }
  });
}

absl::Status DataParallelGroup::BroadcastBytes(std::string* bytes, int root) {
  if (config_.world_size == 1) return absl::OkStatus();
  const torch::Device device = backend_ == "nccl" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  torch::Tensor length = torch::tensor({static_cast<int64_t>(bytes->size())}, torch::kInt64).to(device);
  VLARFT_RETURN_IF_ERROR(Broadcast({length}, root));
  const int64_t n = length.cpu().item<int64_t>();
  torch::Tensor buffer = torch::empty({n}, torch::kUInt8);
  if (config_.rank == root && n > 0) std::memcpy(buffer.data_ptr<uint8_t>(), bytes->data(), n);
  buffer = buffer.to(device);
  VLARFT_RETURN_IF_ERROR(Broadcast({buffer}, root));
  if (config_.rank != root) {
    buffer = buffer.cpu();
    bytes->assign(reinterpret_cast<const char*>(buffer.data_ptr<uint8_t>()), n);
  }
  return absl::OkStatus();
}

absl::Status DataParallelGroup::Barrier() {
  if (config_.world_size == 1) return absl::OkStatus();
  return core::CatchTorchErrorsVoid("barrier", [&] { impl_->group->barrier()->wait(); });
}

}  // namespace vlarft::rl
