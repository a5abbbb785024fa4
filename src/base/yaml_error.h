// YAML errors: one format for every YAML document kumo reads (job specs, inventories, the
// server's and the cache's config files, the CLI's config file):
//
//   FILE:LINE: field.path: message      a document read from a file
//   line LINE: field.path: message      one from elsewhere (an HTTP request body)
//
// LINE is 1-based. The field path (`spec.taskGroups[0].resources.gpu`, `nodes[2].gpus.count`) is
// left out for errors about the whole document. FILE:LINE: is the form compilers use, so editors
// and terminals jump to it. A syntax error's message is "invalid YAML: " and yaml-cpp's words.
// Every error is InvalidArgument: it is about the caller's text.
//
// Example: YamlError("inventory.yaml", node.Mark(), "nodes[0].cpu", "must be positive")
//          → "inventory.yaml:3: nodes[0].cpu: must be positive"
#pragma once

#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/node/node.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace kumo {

// `file` is empty when the document has none; `line` is 1-based.
Status YamlError(std::string_view file, int line, std::string_view field_path,
                 std::string_view message);

// At yaml-cpp's 0-based mark. A null mark (line -1: yaml-cpp gives them to implicit nulls)
// counts as line 1.
Status YamlError(std::string_view file, const YAML::Mark& mark, std::string_view field_path,
                 std::string_view message);

// yaml-cpp's parse error, at its mark: "FILE:LINE: invalid YAML: <yaml-cpp's message>".
Status YamlSyntaxError(std::string_view file, const YAML::Exception& e);

// The YAML document in `path`, or "PATH: bad file: ..." (cannot read it) / YamlSyntaxError.
Result<YAML::Node> LoadYamlFile(const std::string& path);

// An error of a document parsed without its file name ("line 4: nodes: ...", as from
// YamlError("", ...)) placed in `file`: "FILE:4: nodes: ...". Other messages get "FILE: ".
Status InYamlFile(std::string_view file, const Status& error);

}  // namespace kumo
