#include "libs/core/status.h"

#include <new>
#include <string>

#include "absl/strings/ascii.h"
#include "c10/util/Exception.h"

namespace vlarft::core {
namespace {

// c10::Error::what() carries a multi-line backtrace; a Status message should stay one readable
// line.
absl::string_view FirstLine(absl::string_view text) {
  text = absl::StripLeadingAsciiWhitespace(text);
  const size_t newline = text.find('\n');
  if (newline != absl::string_view::npos) text = text.substr(0, newline);
  return absl::StripTrailingAsciiWhitespace(text);
}

}  // namespace

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok() || context.empty()) return status;
  absl::Status annotated(status.code(), absl::StrCat(context, ": ", status.message()));
  // Keep any structured payloads the original error carried.
  status.ForEachPayload([&annotated](absl::string_view type_url, const absl::Cord& payload) {
    annotated.SetPayload(type_url, payload);
  });
  return annotated;
}

absl::Status StatusFromException(absl::string_view what, const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) {
    // LibTorch throws c10::Error for shape/dtype/device misuse, which at our boundaries means the
    // caller handed us bad input. what_without_backtrace() exists in LibTorch 1.13 and 2.x.
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", FirstLine(torch_error->what_without_backtrace())));
  }
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": out of memory (", FirstLine(e.what()), ")"));
  }
  return absl::InternalError(absl::StrCat(what, ": ", FirstLine(e.what())));
}

}  // namespace vlarft::core
