// `kumo cache put|get|stat|rm|warm`: the command line over CacheClient (client.h).
//   kumo cache put BUCKET/KEY FILE            FILE "-" reads stdin (held in memory)
//   kumo cache get BUCKET/KEY [-o FILE]       stdout by default
//   kumo cache stat BUCKET/KEY                size, etag, owner node
//   kumo cache rm BUCKET/KEY
//   kumo cache warm DIR BUCKET[/PREFIX] [--parallel N] [--force]
// Common: --server HOST:PORT[,HOST:PORT...] or --members FILE, --token-file F, --timeout-s N
// (env KUMO_CACHE_SERVER, KUMO_CACHE_MEMBERS, KUMO_CACHE_TOKEN_FILE when the flag is absent).
// Exit codes: 0 ok, 1 not found or failed, 2 usage. Flags are parsed with CLI11 (base/flags.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kumo::cli {

// True for the subcommands RunCacheClientCommand handles.
bool IsCacheClientCommand(std::string_view subcommand);

// args[0] is the subcommand ("put", ...), the rest its arguments and flags.
int RunCacheClientCommand(const std::vector<std::string>& args);

// The usage lines of the client subcommands (for `kumo cache --help`).
extern const char kCacheClientUsage[];

}  // namespace kumo::cli
