// `vlarft study ladder-plot`: the paired gains of several `vlarft study rft` runs as one chart, one
// row per rung and one bar per training seed with its paired 95% interval (docs/results.md, "The RFT
// harness"). Reads each run's results.json; writes ladder.png and ladder.md.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/file_io.h"
#include "libs/core/command_line.h"
#include "libs/core/config.h"
#include "libs/core/status.h"
#include "libs/viz/bar_chart.h"
#include "nlohmann/json.hpp"
#include "tools/vlarft/command.h"
#include "tools/vlarft/policy_evaluation.h"

namespace vlarft::cli {
namespace {
namespace fs = std::filesystem;

struct LadderPlotFlags {
  std::string rungs;  // "label=dir,dir;label=dir"
  std::string out = "out/study/ladder";
  std::string title = "RFT harness: paired gain over the start policy";
  template <typename V>
  void VisitFields(V& v) {
    v.Field("rungs", rungs, "'LABEL=RUN_DIR,RUN_DIR,...;LABEL=...': one row per rung, one bar per run (seed) in order");
    v.Field("out", out, "output directory (ladder.png, ladder.md)");
    v.Field("title", title, "chart title");
  }
};

struct PairedGain {
  double points = NAN, low = NAN, high = NAN;
};

absl::StatusOr<PairedGain> ReadPairedGain(const std::string& dir) {
  const std::string path = (fs::path(dir) / "results.json").string();
  VLARFT_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("paired") || !j["paired"].contains("difference") ||
      !j["paired"].contains("ci95") || !j["paired"]["ci95"].is_array() || j["paired"]["ci95"].size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no paired.difference / paired.ci95 (not a study rft result?)"));
  }
  return PairedGain{100.0 * j["paired"]["difference"].get<double>(), 100.0 * j["paired"]["ci95"][0].get<double>(),
                    100.0 * j["paired"]["ci95"][1].get<double>()};
}

absl::Status RunLadderPlot(const std::vector<std::string>& args) {
  VLARFT_ASSIGN_OR_RETURN(core::ParsedCommandLine parsed, core::ParseCommandLine(args));
  if (parsed.help) {
    std::cout << "usage: vlarft study ladder-plot --rungs 'LABEL=DIR,DIR;LABEL=DIR' [--out DIR]\n\n"
              << core::OptionsHelp(LadderPlotFlags{}, "", "--");
    return absl::OkStatus();
  }
  LadderPlotFlags flags;
  VLARFT_RETURN_IF_ERROR(core::BindOptions(parsed, &flags));
  if (flags.rungs.empty()) return absl::InvalidArgumentError("--rungs is required");
  std::vector<viz::BarRow> rows;
  size_t seeds = 0;
  std::string table = "| rung | paired gain per run, points [95% CI] | mean |\n|---|---|---:|\n";
  for (absl::string_view rung : absl::StrSplit(flags.rungs, ';', absl::SkipEmpty())) {
    const std::vector<std::string> parts = absl::StrSplit(rung, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--rungs: '", rung, "' is not LABEL=DIR[,DIR...]"));
    }
    viz::BarRow row{parts[0], {}, {}, {}};
    std::vector<std::string> cells;
    double sum = 0;
    for (absl::string_view dir : absl::StrSplit(parts[1], ',', absl::SkipEmpty())) {
      VLARFT_ASSIGN_OR_RETURN(PairedGain g, ReadPairedGain(std::string(dir)));
      row.values.push_back(g.points);
      row.low.push_back(g.low);
      row.high.push_back(g.high);
      cells.push_back(absl::StrFormat("%+.1f [%+.1f, %+.1f]", g.points, g.low, g.high));
      sum += g.points;
    }
    seeds = std::max(seeds, row.values.size());
    table += absl::StrCat("| ", row.label, " | ", absl::StrJoin(cells, " / "), " | ",
                          absl::StrFormat("%+.1f", sum / row.values.size()), " |\n");
    rows.push_back(std::move(row));
  }
  for (viz::BarRow& row : rows) {  // rungs with fewer runs leave the later bars empty
    row.values.resize(seeds, NAN);
    row.low.resize(seeds, NAN);
    row.high.resize(seeds, NAN);
  }
  viz::BarChartOptions chart;
  chart.title = flags.title;
  chart.value_label = "paired success gain, points (95% CI), 2000 episodes per run";
  for (size_t i = 0; i < seeds; ++i) chart.series.push_back(absl::StrCat("seed ", i + 1));
  const fs::path out = flags.out;
  fs::create_directories(out);
  VLARFT_RETURN_IF_ERROR(viz::WritePng((out / "ladder.png").string(), viz::HorizontalBarChart(rows, chart)));
  VLARFT_RETURN_IF_ERROR(core::WriteFileAtomically((out / "ladder.md").string(), table));
  std::cout << table << "wrote " << (out / "ladder.png").string() << " and ladder.md\n";
  return absl::OkStatus();
}

}  // namespace

void AddLadderPlotCommands(std::vector<Command>& commands) {
  commands.push_back({{"study", "ladder-plot"}, "chart the paired gains of several study rft runs", &RunLadderPlot});
}

}  // namespace vlarft::cli
