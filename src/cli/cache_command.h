// `kumo cache ...`: flag parsing and wiring for the cache server (main stays short wiring).
//   kumo cache serve --listen 127.0.0.1:PORT --dir DIR --capacity 50Gi [--workers N]
//                    [--eviction lru|s3fifo] [--max-object SIZE] [--sendfile-min SIZE]
//                    [--origin DIR] [--verify-reads] [--config FILE]
//                    ([--auth-secret-file F] [--jwks FILE] --acl FILE [--issuer I --audience A]
//                     | --no-auth)
//   kumo cache token (--secret-file F | --key PEM [--kid ID]) --sub system:serviceaccount:NS:SA
//                    [--ttl-s 3600]
//                    [--issuer I --audience A]
//   kumo cache put|get|stat|rm|warm ...   (cache_client_command.h)
// Flags are parsed with CLI11 (base/flags.h); `--config FILE` gives serve's flags as YAML
// (cache/serve_config.h), under the command line's.
#pragma once

#include <string>
#include <vector>

namespace kumo::cli {

int RunCacheCommand(const std::vector<std::string>& args);

}  // namespace kumo::cli
