// `kumo cache ...`: flag parsing and wiring for the cache server (main stays short wiring).
//   kumo cache serve --listen 127.0.0.1:PORT --dir DIR --capacity 50GiB [--workers N]
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

// "50GiB" → 53687091200; accepts B, KiB, MiB, GiB, TiB (and K, M, G, T as the same binary
// units); nullopt when malformed or on overflow.
std::optional<uint64_t> ParseByteSize(std::string_view text);

}  // namespace kumo::cache
