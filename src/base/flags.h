// Flags: every kumo command parses its flags with CLI11 (Debian's libcli11-dev) through
// ParseFlags, so usage errors, --help and exit codes look the same everywhere:
//   - `--help` / `-h` print the command's help to stdout; exit code 0;
//   - a usage error prints "kumo CMD: <what is wrong>" and a hint to stderr; exit code 2.
// The command builds its CLI::App (named "kumo CMD"), binds options to the fields of its config
// struct, calls ParseFlags, and then only wires things.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kumo {

// Parses `args` (the words after the command name, in order) into `app`.
// Returns std::nullopt when the command should run, or the exit code to return now.
std::optional<int> ParseFlags(CLI::App& app, const std::vector<std::string>& args);

// A check for options that take a number >= 0; its error quotes the value, e.g.
// `kumo sim: --grace: "-1" is not a non-negative number`.
CLI::Validator NonNegative();

// A check that `parse` accepts the value; its error is the parser's, e.g.
// `kumo sim: --backfill: unknown backfill mode "x" (known: none, greedy, easy)`.
// `values` is what --help shows after the option's type, e.g. "none|greedy|easy".
template <typename T>
CLI::Validator Parses(Result<T> (*parse)(std::string_view), std::string values) {
  return CLI::Validator(
      [parse](std::string& v) {
        Result<T> r = parse(v);
        return r ? std::string() : r.error().message();
      },
      std::move(values));
}

}  // namespace kumo
