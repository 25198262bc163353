#include "services/common/weight_fetcher.h"

#include <memory>

#include "services/common/grpc_status.h"
#include "services/common/weights_proto.h"

namespace vlarft::services {

absl::StatusOr<std::optional<FetchedWeights>> FetchPolicyWeights(v1::Learner::StubInterface& learner,
                                                                grpc::ClientContext* context, int64_t min_version,
                                                                absl::Duration wait) {
  v1::GetPolicyWeightsRequest request;
  request.set_min_version(min_version);
  request.set_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(wait)));
  std::unique_ptr<grpc::ClientReaderInterface<v1::WeightChunk>> reader = learner.GetPolicyWeights(context, request);
  WeightAssembler assembler;
  v1::WeightChunk chunk;
  bool complete = false;
  while (reader->Read(&chunk)) {
    absl::StatusOr<bool> added = assembler.Add(chunk);
    if (!added.ok()) {
      context->TryCancel();
      reader->Finish();
      return added.status();
    }
    complete = *added;
  }
  const grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return std::nullopt;  // nothing newer yet
  if (!status.ok()) return FromGrpcStatus(status);
  if (!complete) return absl::DataLossError("weight stream ended before the version was complete");
  return FetchedWeights{assembler.version(), assembler.tensors()};
}

}  // namespace vlarft::services
