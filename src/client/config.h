// Client side of the kumo CLI: where the server is, who we are, and the command line.
//
// Resolution order (first that is set wins), for the server address and the token separately:
//   1. flags            --server HOST:PORT, --token T
//   2. environment      KUMO_SERVER; KUMO_TOKEN, then KUMO_TOKEN_FILE
//   3. config file      $KUMO_CONFIG, else ~/.config/kumo/config.yaml:
//                         server: HOST:PORT
//                         token: T            # or
//                         tokenFile: PATH     # relative to the config file's directory
//   4. default          server 127.0.0.1:7080 (what `kumo server` listens on); no token
// The config file is read only when flags and environment leave something open, so a broken
// file never blocks an explicit `--server ... --token ...`. A file named by $KUMO_CONFIG must
// exist; the default one may be missing.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/status.h"

namespace kumo::client {

inline constexpr char kDefaultServer[] = "127.0.0.1:7080";

// Environment lookup, injectable so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

struct ConnectionFlags {
  std::optional<std::string> server, token;
};

struct ClientConfig {
  std::string server;  // "host:port"
  std::string token;   // empty: none found
  // Where each came from ("--server", "KUMO_SERVER", "/root/.config/kumo/config.yaml",
  // "default"), for error messages that tell the user what to fix.
  std::string server_source, token_source;
};

Result<ClientConfig> ResolveConfig(const ConnectionFlags& flags, const EnvLookup& env);

// "http://host:port/" -> "host:port": people paste URLs.
std::string NormalizeServer(std::string s);

// ---- Command-line parsing ----
// The client commands' flags, parsed by CLI11 through kumo::ParseFlags (base/flags.h). Flags may
// appear anywhere among the positional arguments (kubectl habit: `kumo get jobs -o json` and
// `kumo get -o json jobs` alike). Forms: --name value, --name=value, -o value, -ojson; boolean
// flags take no value (--admin, or --admin=false). A repeated flag: the last one wins, as in
// kubectl. "--" ends flags; "-" alone is a positional (standard input).
struct FlagDef {
  std::vector<std::string> names;  // names[0] is the canonical name, e.g. {"--output", "-o"}
  bool takes_value = true;
  std::string help;  // one line for --help
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // canonical name -> value ("true" for booleans)

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const {
    auto it = values.find(name);
    return it == values.end() ? def : it->second;
  }
};

// Adds `defs` and the positional arguments to `app` (named "kumo CMD") and parses `args` into
// `out`. Returns std::nullopt when the command should run, else the exit code ParseFlags chose:
// 0 after --help, 2 after a usage error (both already printed). `app` is spent afterwards: its
// options point into this call's locals.
std::optional<int> ParseArgs(CLI::App& app, const std::vector<std::string>& args,
                             const std::vector<FlagDef>& defs, ParsedArgs* out);

}  // namespace kumo::client
