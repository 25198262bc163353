// Cancels a set of in-flight client calls at once, e.g. when a worker shuts down while its calls
// wait on a slow or hung peer: each call registers its ClientContext for as long as it runs, and
// CancelAll() TryCancel()s every registered context and every one registered afterwards (so an
// attempt that starts during the shutdown is cancelled too). The calls then end with CANCELLED.
#pragma once

#include <set>

#include "absl/synchronization/mutex.h"
#include "grpcpp/client_context.h"

namespace vlarft::services {

class CallCanceller {
 public:
  // Keeps `context` registered until destroyed.
  class Registration {
   public:
    Registration(CallCanceller* owner, grpc::ClientContext* context) : owner_(owner), context_(context) {}
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() {
      absl::MutexLock lock(&owner_->mu_);
      owner_->active_.erase(context_);
    }

   private:
    CallCanceller* owner_;
    grpc::ClientContext* context_;
  };

  // Registers `context` for the duration of one call; cancels it at once after CancelAll().
  [[nodiscard]] Registration Register(grpc::ClientContext* context) {
    absl::MutexLock lock(&mu_);
    active_.insert(context);
    if (cancelled_) context->TryCancel();
    return Registration(this, context);
  }

  void CancelAll() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    for (grpc::ClientContext* context : active_) context->TryCancel();
  }

  bool cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

 private:
  mutable absl::Mutex mu_;
  std::set<grpc::ClientContext*> active_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace vlarft::services
