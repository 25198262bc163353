// Renders the learner panels of the Grafana dashboard as one PNG from real Prometheus data, for
// docs/operations.md ("Grafana-less"): the input is the query_range dump that
// prometheus_scrape_test writes with VLARFT_PROM_TEST_DUMP=DIR (one JSON file per dashboard panel,
// each holding the panel's queries and their results). The x axis is the optimiser step, read from
// the dashboard's own step series at each sample's timestamp.
//
//   render_dashboard_png DUMP_DIR OUT.png
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "libs/viz/image.h"
#include "nlohmann/json.hpp"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
namespace viz = vlarft::viz;

// The panels drawn, in order (dashboard titles), and a y-axis label for each.
const std::vector<std::pair<std::string, std::string>> kPanels = {
    {"Reward mean ± std", "reward"},
    {"Loss terms", "loss"},
    {"σ (SDE noise) and entropy", "value"},
    {"Clipping and approx. KL", "value"},
    {"Staleness (policy versions)", "versions"},
    {"Group throughput", "groups/s"},
    {"Gradient norm and learning rate", "value"},
    {"Learner step time", "seconds"},
};

std::string FileName(const std::string& title) {
  std::string name = title;
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
  return name + ".json";
}

// The 5x7 font is ASCII: spell the Greek letters out.
std::string Ascii(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{{"σ", "sigma"}, {"±", "+/-"}}) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from)) s.replace(p, from.size(), to);
  }
  return s;
}

json Load(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return json();
  return json::parse(in);
}

// [(t, v)] of the first result of a query.
std::vector<std::pair<double, double>> Points(const json& result) {
  std::vector<std::pair<double, double>> out;
  if (!result.is_array() || result.empty()) return out;
  for (const json& v : result[0]["values"]) {
    const double value = std::stod(v[1].get<std::string>());
    if (std::isfinite(value)) out.emplace_back(v[0].get<double>(), value);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: render_dashboard_png DUMP_DIR OUT.png\n";
    return 2;
  }
  const fs::path dir = argv[1];
  // Time -> step, from the "Reward vs step" panel's step series (piecewise constant).
  std::map<double, double> step_at;
  const json step_panel = Load(dir / FileName("Reward vs step"));
  for (const json& s : step_panel.value("series", json::array())) {
    if (s["legend"] == "step") {
      for (auto [t, v] : Points(s["result"])) step_at[t] = v;
    }
  }
  if (step_at.empty()) {
    std::cerr << "no step series in " << (dir / FileName("Reward vs step")) << "\n";
    return 1;
  }
  auto step_of = [&](double t) {
    auto it = step_at.upper_bound(t);
    return it == step_at.begin() ? it->second : std::prev(it)->second;
  };

  std::vector<viz::Image> tiles;
  for (const auto& [title, y_label] : kPanels) {
    const json panel = Load(dir / FileName(title));
    std::vector<viz::Series> series;
    for (const json& s : panel.value("series", json::array())) {
      viz::Series line;
      line.label = Ascii(s.value("legend", ""));
      line.color = viz::PaletteColor(static_cast<int>(series.size()));
      // One point per step: the last sample before the step counter moves on.
      std::map<double, double> by_step;
      for (auto [t, v] : Points(s["result"])) by_step[step_of(t)] = v;
      for (auto [step, v] : by_step) {
        if (step < 1) continue;  // nothing trained yet
        line.x.push_back(step);
        line.y.push_back(v);
      }
      if (!line.x.empty()) series.push_back(std::move(line));
    }
    viz::PlotOptions options;
    options.width = 560;
    options.height = 330;
    options.title = Ascii(title);
    options.x_label = "optimiser step";
    options.y_label = y_label;
    if (series.empty()) {
      viz::Image empty(options.width, options.height);
      empty.Text(20, options.height / 2, Ascii(title) + ": no data", {120, 120, 120}, 2);
      tiles.push_back(empty);
    } else {
      tiles.push_back(viz::LinePlot(series, options));
    }
  }
  const viz::Image grid = viz::Grid(tiles, 2, 8, 1, {255, 255, 255});
  const viz::Image figure = viz::WithCaption(
      grid, "VLA-RFT dashboard, learner panels: Prometheus query_range of a real vlarft-learner run", 2);
  const auto status = viz::WritePng(argv[2], figure);
  if (!status.ok()) {
    std::cerr << status << "\n";
    return 1;
  }
  std::cout << "wrote " << argv[2] << " (" << figure.width() << "x" << figure.height() << ")\n";
  return 0;
}
