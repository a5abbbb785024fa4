// `kumo cache ...`: flag parsing and wiring for the cache server (main stays short wiring).
//   kumo cache serve --listen 127.0.0.1:PORT --dir DIR --capacity 50Gi [--workers N]
//                    [--eviction lru|s3fifo] [--max-object SIZE] [--sendfile-min SIZE]
//                    [--origin DIR] [--verify-reads] [--config FILE]
//                    ([--auth-secret-file F] [--jwks FILE] --acl FILE [--issuer I --audience A]
//                     | --no-auth)
//   kumo cache token (--secret-file F | --key PEM [--kid ID]) --sub system:serviceaccount:NS:SA
//                    [--ttl-s 3600]
//                    [--issuer I --audience A]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kumo::cache {

int RunCacheCommand(const std::vector<std::string>& args);

// A size flag or config value in bytes: base/quantity.h's Kubernetes grammar ("50Gi" →
// 53687091200, "50G" → 50000000000). The old cache spellings still parse, with a warning on
// stderr: "50GiB", "64KiB", "1B" (same value: write "50Gi"), and a bare "K", "M", "G", "T"
// (now powers of 1000; "50Gi" is the old meaning). nullopt when malformed or too large.
std::optional<uint64_t> ParseByteSize(std::string_view text);

}  // namespace kumo::cache
