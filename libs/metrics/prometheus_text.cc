#include "libs/metrics/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vlarft::metrics {
namespace {

bool IsNameChar(char c, bool first) {
  return absl::ascii_isalpha(c) || c == '_' || c == ':' || (!first && absl::ascii_isdigit(c));
}

absl::StatusOr<double> ParseValue(absl::string_view text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double value = 0;
  if (!absl::SimpleAtod(text, &value)) return absl::InvalidArgumentError(absl::StrCat("bad value '", text, "'"));
  return value;
}

// Parses `{a="x",b="y"}` starting at text[*pos] == '{'; leaves *pos after '}'.
absl::Status ParseLabels(absl::string_view text, size_t* pos, std::map<std::string, std::string>* labels) {
  size_t i = *pos + 1;
  while (i < text.size() && text[i] != '}') {
    size_t start = i;
    while (i < text.size() && IsNameChar(text[i], i == start)) ++i;
    const std::string name(text.substr(start, i - start));
    if (name.empty() || i + 1 >= text.size() || text[i] != '=' || text[i + 1] != '"') {
      return absl::InvalidArgumentError("malformed label");
    }
    i += 2;
    std::string value;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) {
        const char next = text[i + 1];
        value += next == 'n' ? '\n' : next;
        i += 2;
      } else {
        value += text[i++];
      }
    }
    if (i >= text.size()) return absl::InvalidArgumentError("unterminated label value");
    ++i;  // closing quote
    (*labels)[name] = value;
    if (i < text.size() && text[i] == ',') ++i;
  }
  if (i >= text.size()) return absl::InvalidArgumentError("unterminated label set");
  *pos = i + 1;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ParsePrometheusText(absl::string_view text) {
  std::vector<Sample> samples;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics text line ", line_number, ": ", why, ": '", line, "'"));
    };
    if (line[0] == '#') {
      if (absl::StartsWith(line, "# HELP ") || absl::StartsWith(line, "# TYPE ")) {
        const std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
        if (parts.size() < 3) return error("incomplete comment");
      }
      continue;
    }
    Sample sample;
    size_t i = 0;
    while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
    if (i == 0) return error("missing metric name");
    sample.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      absl::Status status = ParseLabels(line, &i, &sample.labels);
      if (!status.ok()) return error(status.message());
    }
    const std::vector<absl::string_view> rest =
        absl::StrSplit(line.substr(i), ' ', absl::SkipEmpty());
    if (rest.empty() || rest.size() > 2) return error("expected value [timestamp]");
    absl::StatusOr<double> value = ParseValue(rest[0]);
    if (!value.ok()) return error(value.status().message());
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<double> FindSample(const std::vector<Sample>& samples, absl::string_view name,
                                 const std::map<std::string, std::string>& labels) {
  for (const Sample& sample : samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) {
        match = false;
        break;
      }
    }
    if (match) return sample.value;
  }
  return std::nullopt;
}

}  // namespace vlarft::metrics
