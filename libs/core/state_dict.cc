#include "libs/core/state_dict.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"
#include "libs/core/tensor_codec.h"

namespace vlarft::core {
namespace {

// Listing more offenders than this only buries the first (usually most telling) ones.
constexpr size_t kMaxListed = 10;

// What validation needs to know about a source tensor, from a file header or an in-memory tensor.
struct TensorSpec {
  c10::ScalarType scalar_type = c10::ScalarType::Undefined;
  std::vector<int64_t> shape;
};

std::string ScalarTypeName(c10::ScalarType type) {
  const absl::StatusOr<DType> dtype = DTypeFromScalarType(type);
  return dtype.ok() ? std::string(DTypeName(*dtype)) : std::string(c10::toString(type));
}

class OffenderList {
 public:
  explicit OffenderList(absl::string_view what) : what_(what) {}
  void Add(std::string item) {
    if (items_.size() < kMaxListed) items_.push_back(std::move(item));
    ++count_;
  }
  bool empty() const { return count_ == 0; }
  std::string Describe() const {
    std::string text = absl::StrCat(count_, " ", what_, ": ", absl::StrJoin(items_, ", "));
    if (count_ > items_.size()) absl::StrAppend(&text, ", ... (", count_ - items_.size(), " more)");
    return text;
  }

 private:
  std::string what_;
  std::vector<std::string> items_;
  size_t count_ = 0;
};

// Checks the module's tensors against `sources` without touching either; lists every offender.
absl::Status ValidateState(const std::map<std::string, TensorSpec>& sources,
                           const std::vector<std::pair<std::string, torch::Tensor>>& targets,
                           const LoadStateOptions& options) {
  OffenderList missing("missing"), unexpected("unexpected"), mismatched("mismatched");
  std::set<std::string> target_names;
  for (const auto& [name, tensor] : targets) {
    target_names.insert(name);
    const auto it = sources.find(name);
    if (it == sources.end()) {
      if (!options.allow_missing) missing.Add(name);
      continue;
    }
    const TensorSpec& source = it->second;
    const std::vector<int64_t> shape = tensor.sizes().vec();
    if (source.scalar_type != tensor.scalar_type() || source.shape != shape) {
      mismatched.Add(absl::StrCat(
          name, " (source ", ScalarTypeName(source.scalar_type), " ", ShapeString(source.shape),
          ", module ", ScalarTypeName(tensor.scalar_type()), " ", ShapeString(shape), ")"));
    }
  }
  if (!options.allow_unexpected) {
    for (const auto& [name, spec] : sources) {
      if (absl::StartsWith(name, options.prefix) && target_names.count(name) == 0) {
        unexpected.Add(name);
      }
    }
  }
  std::vector<std::string> problems;
  for (const OffenderList* list : {&missing, &unexpected, &mismatched}) {
    if (!list->empty()) problems.push_back(list->Describe());
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("state dict does not match the module",
                   options.prefix.empty() ? "" : absl::StrCat(" (prefix '", options.prefix, "')"),
                   ": ", absl::StrJoin(problems, "; ")));
}

// Only called after validation; copy_ converts device (and never dtype, which already matches).
absl::Status CopyInto(const std::map<std::string, torch::Tensor>& sources,
                      const std::vector<std::pair<std::string, torch::Tensor>>& targets) {
  return CatchTorchErrorsVoid("copying state into module", [&]() {
    torch::NoGradGuard no_grad;
    for (const auto& [name, target] : targets) {
      const auto it = sources.find(name);
      if (it == sources.end()) continue;   // allowed missing
      torch::Tensor destination = target;  // shares storage with the module's tensor
      destination.copy_(it->second);
    }
  });
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> NamedStateTensors(
    const torch::nn::Module& module, const std::string& prefix) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  // Optional parameters (e.g. Linear without bias) are registered as undefined tensors: there is
  // nothing to save or load for them.
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.value().defined()) named.emplace_back(prefix + item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    if (item.value().defined()) named.emplace_back(prefix + item.key(), item.value());
  }
  return named;
}

absl::Status LoadModuleState(const std::map<std::string, torch::Tensor>& tensors,
                             torch::nn::Module& module, const LoadStateOptions& options) {
  std::map<std::string, TensorSpec> specs;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) {
      return absl::InvalidArgumentError(
          absl::StrCat("state dict tensor '", name, "' is undefined"));
    }
    specs[name] = TensorSpec{tensor.scalar_type(), tensor.sizes().vec()};
  }
  const auto targets = NamedStateTensors(module, options.prefix);
  VLARFT_RETURN_IF_ERROR(ValidateState(specs, targets, options));
  return CopyInto(tensors, targets);
}

absl::Status LoadModuleState(const SafetensorsFile& file, torch::nn::Module& module,
                             const LoadStateOptions& options) {
  std::map<std::string, TensorSpec> specs;
  for (const SafetensorsEntry& entry : file.entries()) {
    specs[entry.name] = TensorSpec{ToScalarType(entry.dtype), entry.shape};
  }
  const auto targets = NamedStateTensors(module, options.prefix);
  VLARFT_RETURN_IF_ERROR(ValidateState(specs, targets, options));
  // Read every needed tensor before copying any, so a read failure also leaves the module intact.
  std::map<std::string, torch::Tensor> sources;
  for (const auto& [name, target] : targets) {
    if (!file.Contains(name)) continue;
    VLARFT_ASSIGN_OR_RETURN(sources[name], file.Load(name));
  }
  return Annotate(CopyInto(sources, targets), absl::StrCat("loading '", file.path(), "'"));
}

}  // namespace vlarft::core
