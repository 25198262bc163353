// A small deterministic instruction tokenizer for the policy (the paper's backbone is a Qwen VLM;
// ours is a native transformer, so it gets a native vocabulary). Lower-cased words split on
// whitespace and punctuation map to word ids; anything else falls back to one token per UTF-8 byte.
// The vocabulary is built from the training instructions and stored in the policy checkpoint.
//
// Ids: 0 = PAD, 1..256 = bytes 0x00..0xFF, 257 = BOS, 258.. = words (sorted, so the vocabulary is
// identical for the same set of instructions regardless of order).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/core/torch_compat.h"
#include "yaml-cpp/yaml.h"

namespace vlarft::models {

class InstructionTokenizer {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kFirstByte = 1;
  static constexpr int64_t kBos = 257;
  static constexpr int64_t kFirstWord = 258;

  InstructionTokenizer() = default;
  static InstructionTokenizer Build(const std::vector<std::string>& instructions);
  static absl::StatusOr<InstructionTokenizer> FromYaml(const YAML::Node& node);
  YAML::Node ToYaml() const;

  // Lower-case words and single punctuation characters, in order.
  static std::vector<std::string> Split(absl::string_view text);

  // BOS + tokens. With `allow_unknown` false, a word outside the vocabulary is INVALID_ARGUMENT
  // naming the word (the policy never saw it, so its behaviour on it is undefined); with true, it
  // is spelled with byte tokens.
  absl::StatusOr<std::vector<int64_t>> Encode(absl::string_view text, bool allow_unknown) const;

  // Encodes a batch into ids [B, max_length] (PAD-filled) and a boolean mask [B, max_length]
  // (true = real token). Instructions longer than max_length are INVALID_ARGUMENT.
  absl::Status EncodeBatch(const std::vector<std::string>& texts, int64_t max_length, bool allow_unknown,
                           torch::Tensor* ids, torch::Tensor* mask) const;

  int64_t vocab_size() const { return kFirstWord + static_cast<int64_t>(words_.size()); }
  const std::vector<std::string>& words() const { return words_; }

 private:
  explicit InstructionTokenizer(std::vector<std::string> words);
  std::vector<std::string> words_;
  std::map<std::string, int64_t> ids_;
};

}  // namespace vlarft::models
