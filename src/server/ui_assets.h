// The dashboard's files (web/), compiled into the binary: CMake's web/embed.cmake generates the
// definition of kUiAssets from them at build time.
#pragma once

#include <string_view>
#include <vector>

namespace kumo::server {

struct UiAsset {
  std::string_view name;   // path under /ui/: "index.html", "app.js", ...
  std::string_view bytes;  // the file as it is in web/
};

extern const std::vector<UiAsset> kUiAssets;

}  // namespace kumo::server
