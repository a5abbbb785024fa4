// Status and Result<T>: errors that input or the environment can cause.
// The core never throws across its API; invariants are asserted instead.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace kumo {

enum class StatusCode { kOk, kInvalidArgument, kNotFound, kFailedPrecondition, kInternal };

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds a T or the Status explaining why there is none.
template <typename T>
using Result = std::expected<T, Status>;

inline std::unexpected<Status> Error(Status s) { return std::unexpected<Status>(std::move(s)); }

}  // namespace kumo
