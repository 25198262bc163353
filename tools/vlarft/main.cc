// `vlarft`: the offline stages and local launches of the VLA-RFT service (docs/architecture.md, "Layering").
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "tools/vlarft/command.h"

namespace vlarft::cli {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  AddVersionCommands(commands);
  AddDataCommands(commands);
  AddEvalCommands(commands);
  AddEvalCompareCommands(commands);
  AddTrainCommands(commands);
  AddTrainWorldModelCommands(commands);
  AddEvalWorldModelCommands(commands);
  AddStudyCommands(commands);
  AddLocalisationStudyCommands(commands);
  AddRftStudyCommands(commands);
  AddSdeRewardStudyCommands(commands);
  AddLadderPlotCommands(commands);
#if defined(VLARFT_WITH_RFT)
  AddRftCommands(commands);
#endif
  return commands;
}

void PrintUsage(const std::vector<Command>& commands) {
  std::cerr << "usage: vlarft <command> [options]   (vlarft <command> --help for its options)\n\n"
               "commands:\n";
  for (const Command& command : commands) {
    std::string words;
    for (const std::string& w : command.words) words += (words.empty() ? "" : " ") + w;
    std::cerr << "  " << words << std::string(words.size() < 24 ? 24 - words.size() : 1, ' ')
              << command.summary << "\n";
  }
}

// The command whose words are the longest prefix of `args`, or nullptr.
const Command* FindCommand(const std::vector<Command>& commands, const std::vector<std::string>& args) {
  const Command* best = nullptr;
  for (const Command& command : commands) {
    if (command.words.size() > args.size()) continue;
    bool match = true;
    for (size_t i = 0; i < command.words.size() && match; ++i) match = command.words[i] == args[i];
    if (match && (best == nullptr || command.words.size() > best->words.size())) best = &command;
  }
  return best;
}

int Main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<Command> commands = AllCommands();
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintUsage(commands);
    return args.empty() ? 2 : 0;
  }
  const Command* command = FindCommand(commands, args);
  if (command == nullptr) {
    std::cerr << "vlarft: unknown command '" << args[0] << "'\n\n";
    PrintUsage(commands);
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + command->words.size(), args.end());
  absl::Status status;
  try {
    status = command->run(rest);
  } catch (const std::exception& e) {
    // A LibTorch check deep in a model (an unsupported dtype/op combination, say) throws; report it
    // as a failed command instead of std::terminate's core dump. Checkpoints written so far stay.
    status = absl::InternalError(absl::StrCat("unexpected error in '", args[0], "': ", e.what()));
  }
  if (status.ok()) return 0;
  std::cerr << "vlarft: " << status.message() << " [" << absl::StatusCodeToString(status.code())
            << "]\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace
}  // namespace vlarft::cli

int main(int argc, char** argv) { return vlarft::cli::Main(argc, argv); }
