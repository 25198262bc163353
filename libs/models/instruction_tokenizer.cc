#include "libs/models/instruction_tokenizer.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace vlarft::models {

InstructionTokenizer::InstructionTokenizer(std::vector<std::string> words) : words_(std::move(words)) {
  for (size_t i = 0; i < words_.size(); ++i) ids_[words_[i]] = kFirstWord + static_cast<int64_t>(i);
}

std::vector<std::string> InstructionTokenizer::Split(absl::string_view text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&]() {
    if (!word.empty()) out.push_back(std::move(word));
    word.clear();
  };
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isspace(u)) {
      flush();
    } else if (absl::ascii_ispunct(u)) {
      flush();
      out.emplace_back(1, c);
    } else {
      word.push_back(static_cast<char>(absl::ascii_tolower(u)));
    }
  }
  flush();
  return out;
}

InstructionTokenizer InstructionTokenizer::Build(const std::vector<std::string>& instructions) {
  std::set<std::string> unique;
  for (const std::string& text : instructions) {
    for (std::string& word : Split(text)) unique.insert(std::move(word));
  }
  return InstructionTokenizer(std::vector<std::string>(unique.begin(), unique.end()));
}

absl::StatusOr<InstructionTokenizer> InstructionTokenizer::FromYaml(const YAML::Node& node) {
  if (!node.IsSequence()) return absl::InvalidArgumentError("instruction vocabulary must be a list of words");
  std::vector<std::string> words;
  try {
    words = node.as<std::vector<std::string>>();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("instruction vocabulary: ", e.what()));
  }
  if (!std::is_sorted(words.begin(), words.end()) ||
      std::adjacent_find(words.begin(), words.end()) != words.end()) {
    return absl::InvalidArgumentError("instruction vocabulary must be sorted and unique");
  }
  return InstructionTokenizer(std::move(words));
}

YAML::Node InstructionTokenizer::ToYaml() const {
  YAML::Node node(words_);
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

absl::StatusOr<std::vector<int64_t>> InstructionTokenizer::Encode(absl::string_view text,
                                                                  bool allow_unknown) const {
  std::vector<int64_t> ids = {kBos};
  for (const std::string& word : Split(text)) {
    auto it = ids_.find(word);
    if (it != ids_.end()) {
      ids.push_back(it->second);
      continue;
    }
    if (!allow_unknown) {
      return absl::InvalidArgumentError(absl::StrCat("instruction word '", word,
                                                     "' is not in the policy's vocabulary (instruction: '",
                                                     text, "')"));
    }
    for (unsigned char byte : word) ids.push_back(kFirstByte + byte);
  }
  return ids;
}

absl::Status InstructionTokenizer::EncodeBatch(const std::vector<std::string>& texts, int64_t max_length,
                                               bool allow_unknown, torch::Tensor* ids,
                                               torch::Tensor* mask) const {
  *ids = torch::full({static_cast<int64_t>(texts.size()), max_length}, kPad, torch::kInt64);
  *mask = torch::zeros({static_cast<int64_t>(texts.size()), max_length}, torch::kBool);
  auto ids_a = ids->accessor<int64_t, 2>();
  auto mask_a = mask->accessor<bool, 2>();
  for (size_t b = 0; b < texts.size(); ++b) {
    absl::StatusOr<std::vector<int64_t>> encoded = Encode(texts[b], allow_unknown);
    if (!encoded.ok()) return encoded.status();
    if (static_cast<int64_t>(encoded->size()) > max_length) {
      return absl::InvalidArgumentError(absl::StrCat("instruction '", texts[b], "' has ", encoded->size(),
                                                     " tokens; the policy accepts at most ", max_length));
    }
    for (size_t i = 0; i < encoded->size(); ++i) {
      ids_a[b][i] = (*encoded)[i];
      mask_a[b][i] = true;
    }
  }
  return absl::OkStatus();
}

}  // namespace vlarft::models
