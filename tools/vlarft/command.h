// A `vlarft` subcommand: its words ("data generate"), a one-line summary, and the function that runs
// it with the remaining arguments. Each subcommand lives in its own *_command.cc file and declares a
// registration function below; main.cc lists them, so there is no static-initialisation registry.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace vlarft::cli {

struct Command {
  std::vector<std::string> words;  // e.g. {"data", "generate"}
  std::string summary;
  // Runs with the arguments after the command words. Returns a status; main prints it and maps it
  // to the exit code (0 ok, 2 usage/invalid argument, 1 anything else).
  absl::Status (*run)(const std::vector<std::string>& args);
};

// Each *_command.cc appends its commands.
void AddVersionCommands(std::vector<Command>& commands);
void AddDataCommands(std::vector<Command>& commands);
void AddEvalCommands(std::vector<Command>& commands);
void AddEvalCompareCommands(std::vector<Command>& commands);      // eval compare
void AddTrainCommands(std::vector<Command>& commands);
void AddTrainWorldModelCommands(std::vector<Command>& commands);  // train tokenizer | world-model
void AddEvalWorldModelCommands(std::vector<Command>& commands);   // eval world-model
void AddStudyCommands(std::vector<Command>& commands);             // study reward
void AddLocalisationStudyCommands(std::vector<Command>& commands); // study localisation
void AddRftStudyCommands(std::vector<Command>& commands);          // study rft
void AddSdeRewardStudyCommands(std::vector<Command>& commands);    // study sde-rewards
void AddLadderPlotCommands(std::vector<Command>& commands);         // study ladder-plot
// Only in builds with services (VLARFT_WITH_RFT).
void AddRftCommands(std::vector<Command>& commands);

}  // namespace vlarft::cli
