// Error-handling conventions shared by every library and service.
//
// Library boundaries return absl::Status / absl::StatusOr<T>; nothing throws across them. LibTorch
// throws c10::Error, so code that calls into LibTorch with untrusted input wraps the call in
// CatchTorchErrors() to turn the exception into a Status naming what was being done.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#define VLARFT_STATUS_CONCAT_INNER_(a, b) a##b
#define VLARFT_STATUS_CONCAT_(a, b) VLARFT_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define VLARFT_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status vlarft_status_ = (expr);          \
    if (!vlarft_status_.ok()) return vlarft_status_; \
  } while (false)

// `lhs` = value of `rexpr` (an absl::StatusOr<T>), or returns its error from the enclosing function.
#define VLARFT_ASSIGN_OR_RETURN(lhs, rexpr) \
  VLARFT_ASSIGN_OR_RETURN_IMPL_(VLARFT_STATUS_CONCAT_(vlarft_statusor_, __LINE__), lhs, rexpr)
#define VLARFT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

namespace vlarft::core {

// Prefixes `status`'s message with `context` ("loading policy: ...") and keeps its code.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// Runs `fn` (returning T or void) and converts any exception (c10::Error, std::exception) into an
// INTERNAL (or, for c10::Error from bad arguments, INVALID_ARGUMENT) status prefixed with `what`.
template <typename Fn>
auto CatchTorchErrors(absl::string_view what, Fn&& fn)
    -> absl::StatusOr<decltype(fn())>;

// Specialisation helper for void-returning functions: returns absl::OkStatus() on success.
template <typename Fn>
absl::Status CatchTorchErrorsVoid(absl::string_view what, Fn&& fn);

// ---- implementation details -------------------------------------------------------------------
absl::Status StatusFromException(absl::string_view what, const std::exception& e);

template <typename Fn>
auto CatchTorchErrors(absl::string_view what, Fn&& fn) -> absl::StatusOr<decltype(fn())> {
  try {
    return fn();
  } catch (const std::exception& e) {
    return StatusFromException(what, e);
  }
}

template <typename Fn>
absl::Status CatchTorchErrorsVoid(absl::string_view what, Fn&& fn) {
  try {
    fn();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(what, e);
  }
}

}  // namespace vlarft::core
