// Status and Result<T>: errors that input or the environment can cause.
//
// This header is the base of every kumo library, the core included: it needs the standard
// library only. The core never throws across its API; invariants are asserted instead.
//
// A code says what kind of failure it is, never how a protocol spells it: the HTTP layers map
// codes to status lines (cache: kResourceExhausted -> 413 or 507 by what ran out; server:
// kPermissionDenied -> 403). No message text carries an HTTP status.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace kumo {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // the caller's input is wrong (a spec field, a flag, a request)
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // a create collides with an existing name or key
  kPermissionDenied,    // authenticated, but not allowed
  kUnauthenticated,     // no valid credentials
  kFailedPrecondition,  // the system is not in a state where this can run (retry will not help)
  kResourceExhausted,   // a limit or a capacity ran out (quota, disk, object size)
  kUnavailable,         // transient: a peer or service cannot be reached now (retry may help)
  kDeadlineExceeded,    // a time limit ran out
  kIoError,             // the operating system refused a read, write or call (errno text)
  kInternal,            // a broken invariant or an unexpected answer
};

// The code's name without the k ("InvalidArgument"), for logs and tests.
constexpr const char* StatusCodeName(StatusCode c) {
  switch (c) {
    case StatusCode::kOk: return "Ok";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kIoError: return "IoError";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
  }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

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
