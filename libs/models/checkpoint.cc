#include "libs/models/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/file_io.h"
#include "libs/core/config.h"
#include "libs/core/safetensors.h"
#include "libs/core/state_dict.h"
#include "libs/core/status.h"

namespace vlarft::models {
namespace fs = std::filesystem;

namespace {

std::string Emit(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

std::string StepDirName(int64_t step) {
  std::ostringstream name;
  name << "step-" << step;
  return name.str();
}

}  // namespace

absl::Status SaveModel(const std::string& stem, const torch::nn::Module& module,
                       const ModelSidecar& sidecar) {
  const fs::path parent = fs::path(stem).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  }
  VLARFT_RETURN_IF_ERROR(core::WriteSafetensors(stem + ".safetensors", core::NamedStateTensors(module),
                                                {{"kind", sidecar.kind}}));
  YAML::Node root;
  root["kind"] = sidecar.kind;
  root["step"] = sidecar.step;
  root["torch_version"] = core::TorchVersionString();
  root["config"] = sidecar.config;
  if (sidecar.extra.IsDefined() && !sidecar.extra.IsNull()) root["extra"] = sidecar.extra;
  return core::WriteFileAtomically(stem + ".yaml", Emit(root));
}

namespace {

// A checkpoint is a stem naming two files (STEM.safetensors, STEM.yaml); a path to one of them is
// the commonest slip, and "STEM.safetensors.yaml not found" does not say what to do.
absl::Status CheckStem(const std::string& stem) {
  for (const absl::string_view suffix : {".safetensors", ".yaml"}) {
    if (absl::EndsWith(stem, suffix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", stem, "' names a checkpoint file; give the checkpoint stem '", stem.substr(0, stem.size() - suffix.size()),
          "' (both ", stem.substr(0, stem.size() - suffix.size()), ".safetensors and .yaml are read)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelSidecar> ReadModelSidecar(const std::string& stem, const std::string& expected_kind) {
  VLARFT_RETURN_IF_ERROR(CheckStem(stem));
  VLARFT_ASSIGN_OR_RETURN(YAML::Node root, core::LoadYamlFile(stem + ".yaml"));
  ModelSidecar sidecar;
  try {
    sidecar.kind = root["kind"].as<std::string>("");
    sidecar.step = root["step"].as<int64_t>(0);
  } catch (const YAML::Exception& e) {
    return absl::DataLossError(absl::StrCat(stem, ".yaml: malformed sidecar: ", e.what()));
  }
  if (sidecar.kind != expected_kind) {
    return absl::FailedPreconditionError(absl::StrCat(stem, " is a '", sidecar.kind,
                                                      "' checkpoint, expected '", expected_kind, "'"));
  }
  sidecar.config = root["config"];
  sidecar.extra = root["extra"];
  if (!sidecar.config.IsMap()) return absl::DataLossError(absl::StrCat(stem, ".yaml has no config map"));
  return sidecar;
}

absl::Status LoadModelWeights(const std::string& stem, torch::nn::Module& module) {
  VLARFT_RETURN_IF_ERROR(CheckStem(stem));
  VLARFT_ASSIGN_OR_RETURN(core::SafetensorsFile file, core::SafetensorsFile::Open(stem + ".safetensors"));
  return core::Annotate(core::LoadModuleState(file, module), stem);
}

NamedParameters TrainableParameters(const torch::nn::Module& module) {
  NamedParameters out;
  for (const auto& item : module.named_parameters()) {
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  }
  return out;
}

absl::Status SaveAdamWState(const std::string& path, torch::optim::AdamW& optimizer,
                            const NamedParameters& parameters) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  auto& state = optimizer.state();
  for (const auto& [name, param] : parameters) {
    auto it = state.find(core::OptimizerStateKey(state, param));
    if (it == state.end()) continue;  // never stepped
    auto& adam = static_cast<torch::optim::AdamWParamState&>(*it->second);
    tensors.emplace_back(name + "/exp_avg", adam.exp_avg());
    tensors.emplace_back(name + "/exp_avg_sq", adam.exp_avg_sq());
    tensors.emplace_back(name + "/step", torch::full({1}, adam.step(), torch::kInt64));
  }
  return core::WriteSafetensors(path, tensors, {{"kind", "adamw_state"}});
}

absl::Status LoadAdamWState(const std::string& path, torch::optim::AdamW& optimizer,
                            const NamedParameters& parameters) {
  VLARFT_ASSIGN_OR_RETURN(core::SafetensorsFile file, core::SafetensorsFile::Open(path));
  // Validate first so a mismatch leaves the optimizer untouched.
  size_t expected = 0;
  for (const auto& [name, param] : parameters) {
    if (!file.Contains(name + "/exp_avg")) continue;
    VLARFT_ASSIGN_OR_RETURN(core::SafetensorsEntry entry, file.Entry(name + "/exp_avg"));
    if (entry.shape != param.sizes().vec()) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": optimizer state for '", name, "' has a different shape than the parameter"));
    }
    expected += 3;
  }
  if (expected != file.entries().size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": optimizer state holds ", file.entries().size() / 3,
        " parameters that do not all match the model's trainable parameters (", expected / 3, " do)"));
  }
  auto& state = optimizer.state();
  for (const auto& [name, param] : parameters) {
    if (!file.Contains(name + "/exp_avg")) continue;
    auto adam = std::make_unique<torch::optim::AdamWParamState>();
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor exp_avg, file.Load(name + "/exp_avg"));
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor exp_avg_sq, file.Load(name + "/exp_avg_sq"));
    VLARFT_ASSIGN_OR_RETURN(torch::Tensor step, file.Load(name + "/step"));
    adam->exp_avg(exp_avg.to(param.device(), param.scalar_type()));
    adam->exp_avg_sq(exp_avg_sq.to(param.device(), param.scalar_type()));
    adam->step(step.item<int64_t>());
    state[core::OptimizerStateKey(state, param)] = std::move(adam);
  }
  return absl::OkStatus();
}

absl::Status TrainingCheckpoints::Save(const torch::nn::Module& module, const ModelSidecar& sidecar,
                                       torch::optim::AdamW& optimizer, const NamedParameters& parameters,
                                       const TrainerState& state) {
  const fs::path step_dir = fs::path(dir_) / StepDirName(state.step);
  std::error_code ec;
  fs::create_directories(step_dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", step_dir.string(), ": ", ec.message()));
  VLARFT_RETURN_IF_ERROR(SaveModel((step_dir / "model").string(), module, sidecar));
  VLARFT_RETURN_IF_ERROR(SaveAdamWState((step_dir / "optimizer.safetensors").string(), optimizer, parameters));
  std::vector<std::pair<std::string, torch::Tensor>> rng;
  if (state.generator_state.defined()) rng.emplace_back("generator_state", state.generator_state);
  VLARFT_RETURN_IF_ERROR(core::WriteSafetensors((step_dir / "rng.safetensors").string(), rng));
  YAML::Node trainer;
  trainer["step"] = state.step;
  if (state.extra.IsDefined() && !state.extra.IsNull()) trainer["extra"] = state.extra;
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((step_dir / "trainer.yaml").string(), Emit(trainer)));
  // Commit point: LATEST is only updated once every file above is complete.
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((fs::path(dir_) / "LATEST").string(), StepDirName(state.step) + "\n"));

  // Retention: delete all but the newest `keep_` step directories.
  std::vector<std::pair<int64_t, fs::path>> steps;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("step-", 0) == 0) {
      try {
        steps.emplace_back(std::stoll(name.substr(5)), entry.path());
      } catch (const std::exception&) {
      }
    }
  }
  std::sort(steps.begin(), steps.end());
  for (size_t i = 0; i + keep_ < steps.size(); ++i) {
    if (steps[i].first != state.step) fs::remove_all(steps[i].second, ec);
  }
  return absl::OkStatus();
}

std::optional<std::string> TrainingCheckpoints::Latest() const {
  std::ifstream in(fs::path(dir_) / "LATEST");
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) return std::nullopt;
  const fs::path path = fs::path(dir_) / name;
  if (!fs::exists(path / "trainer.yaml")) return std::nullopt;
  return path.string();
}

absl::StatusOr<TrainerState> TrainingCheckpoints::Restore(torch::nn::Module& module,
                                                          const std::string& expected_kind,
                                                          torch::optim::AdamW& optimizer,
                                                          const NamedParameters& parameters) const {
  const std::optional<std::string> latest = Latest();
  if (!latest) return absl::NotFoundError(absl::StrCat("no checkpoint in ", dir_));
  const std::string stem = (fs::path(*latest) / "model").string();
  VLARFT_RETURN_IF_ERROR(ReadModelSidecar(stem, expected_kind).status());
  VLARFT_RETURN_IF_ERROR(LoadModelWeights(stem, module));
  VLARFT_RETURN_IF_ERROR(LoadAdamWState((fs::path(*latest) / "optimizer.safetensors").string(), optimizer, parameters));
  VLARFT_ASSIGN_OR_RETURN(YAML::Node trainer, core::LoadYamlFile((fs::path(*latest) / "trainer.yaml").string()));
  TrainerState state;
  state.step = trainer["step"].as<int64_t>(0);
  state.extra = trainer["extra"];
  VLARFT_ASSIGN_OR_RETURN(core::SafetensorsFile rng, core::SafetensorsFile::Open((fs::path(*latest) / "rng.safetensors").string()));
  if (rng.Contains("generator_state")) {
    VLARFT_ASSIGN_OR_RETURN(state.generator_state, rng.Load("generator_state"));
  }
  return state;
}

}  // namespace vlarft::models
