#include "glog/logging.h"
#include "services/common/service_main.h"

namespace vlarft::services {

void InitServiceLogging(const char* argv0) {
  // Containers and the local launcher collect stderr; log files inside a pod would be lost.
  FLAGS_logtostderr = true;
  FLAGS_colorlogtostderr = false;
  google::InitGoogleLogging(argv0);
}

}  // namespace vlarft::services
