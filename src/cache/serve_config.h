// `kumo cache serve --config FILE`: the same settings as the flags, as a YAML mapping.
//
//   listen: 127.0.0.1:8470
//   dir: /nvme/kumo-cache
//   capacity: 50Gi
//   maxObject: 1Gi           # camelCase or kebab-case: both name the flag --max-object
//   verifyReads: true
//
// Each key maps to a flag name generically (camelCase → kebab-case), so a flag added to the
// command is usable in the file as soon as it is in the caller's `known` list — no second
// parser to keep in step. Values are checked by kind at load time, and every error names the
// file, the line and the key: "config.yaml:4: capacity: not a size" (base/yaml_error.h). The caller merges
// the result under its command-line flags (flags win).
//
// Thread safety: pure functions (the file is read once).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kumo::cache {

enum class ConfigValueKind {
  kString,  // any non-empty scalar (paths, names, host:port)
  kSize,    // ParseByteSize: 64Ki, 50Gi, 1024
  kCount,   // a decimal integer ≥ 0
  kBool,    // true/false (yes/no, on/off as YAML 1.1 reads them)
};

struct ConfigFlag {
  std::string_view flag;  // the flag's name without "--", e.g. "max-object"
  ConfigValueKind kind;
};

// A size flag or config value in bytes: base/quantity.h's Kubernetes grammar ("50Gi" →
// 53687091200, "50G" → 50000000000). The old cache spellings still parse, with a warning on
// stderr: "50GiB", "64KiB", "1B" (same value: write "50Gi"), and a bare "K", "M", "G", "T"
// (now powers of 1000; "50Gi" is the old meaning). nullopt when malformed or too large.
std::optional<uint64_t> ParseByteSize(std::string_view text);

// A count flag or config value (kCount): decimal digits only, at most 9 of them, so it fits an
// int and atoi reads it exactly. "2x", "-1", "1.5" and "" are not counts.
bool IsCount(std::string_view text);

// "maxObject" → "max-object", "authSecretFile" → "auth-secret-file"; kebab-case stays as is.
std::string ConfigKeyToFlag(std::string_view key);

// Parses YAML text (`path` only names it in errors) into flag → value. A boolean that is false
// is left out (the flags are presence-based); InvalidArgument names line and key for an unknown
// key, a non-scalar, a bad value or malformed YAML.
Result<std::map<std::string, std::string>> ParseConfigFlags(const std::string& text,
                                                            const std::string& path,
                                                            const std::vector<ConfigFlag>& known);

// Reads `path` and parses it as above; NotFound when it cannot be read.
Result<std::map<std::string, std::string>> LoadConfigFlags(const std::string& path,
                                                           const std::vector<ConfigFlag>& known);

}  // namespace kumo::cache
