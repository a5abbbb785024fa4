#include "cache/storage/object_path.h"

#include <cstdio>

namespace kumo::cache {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return Error(Status::InvalidArgument("bad percent escape"));
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return Error(Status::InvalidArgument("bad percent escape"));
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

bool IsValidBucket(std::string_view bucket) {
  if (bucket.empty() || bucket.size() > 63) return false;
  for (char c : bucket)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty key");
  if (key.size() > kMaxKeyBytes) return Status::InvalidArgument("key longer than 1024 bytes");
  // Control bytes (C0 and DEL) would reach log lines and terminals raw; a backslash is a path
  // separator to Windows clients and an escape to shells: neither names an object sanely.
  for (char c : key) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", b);
      return Status::InvalidArgument(std::string("control byte ") + hex + " in key");
    }
    if (c == '\\') return Status::InvalidArgument("backslash in key");
  }
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty()) return Status::InvalidArgument("empty key segment");
    if (seg == "." || seg == "..") return Status::InvalidArgument("'.' or '..' key segment");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

Result<ObjectName> ParseObjectTarget(std::string_view target) {
  std::string_view rest = target.substr(kObjectsPrefix.size());
  if (rest.find('?') != std::string_view::npos)
    return Error(Status::InvalidArgument("query strings are not allowed on objects"));
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos)
    return Error(Status::InvalidArgument("want /v1/objects/{bucket}/{key}"));
  ObjectName name;
  name.bucket = std::string(rest.substr(0, slash));
  if (!IsValidBucket(name.bucket))
    return Error(Status::InvalidArgument("bucket must match [a-z0-9-]{1,63}"));
  Result<std::string> key = PercentDecode(rest.substr(slash + 1));
  if (!key) return Error(key.error());
  if (Status s = ValidateKey(*key); !s.ok()) return Error(s);
  name.key = std::move(*key);
  return name;
}

}  // namespace kumo::cache
