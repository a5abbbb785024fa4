// Object names from request targets: "/v1/objects/{bucket}/{key}" where the key may contain '/'.
//
// Rules (checked after percent-decoding, so "%2e%2e" is caught too): bucket matches
// [a-z0-9-]{1,63}; key is 1..1024 bytes, has no control byte (C0 0x00-0x1f, DEL 0x7f) and no
// backslash, no empty segment ("a//b", "/a", "a/"), and no "." or ".." segment. A query string is not allowed (objects have no parameters).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kumo::cache {

inline constexpr std::string_view kObjectsPrefix = "/v1/objects/";
inline constexpr size_t kMaxKeyBytes = 1024;

struct ObjectName {
  std::string bucket;
  std::string key;
};

// REQUIRES: target starts with kObjectsPrefix. InvalidArgument explains what is wrong.
Result<ObjectName> ParseObjectTarget(std::string_view target);

bool IsValidBucket(std::string_view bucket);
Status ValidateKey(std::string_view key);

}  // namespace kumo::cache
