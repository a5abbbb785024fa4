// The web dashboard at /ui/ (docs/observability.md): static files compiled into the binary
// (ui_assets.h), served without a token. The page asks for the user's token, keeps it in the
// browser's local storage and calls the /v1 API with it, so it shows exactly what the API lets
// that user see; no data is in these files.
//
// Thread safety: ServeUi reads constant data only.
#pragma once

#include "http/http.h"

namespace kumo::server {

// GET of /ui (redirected to /ui/), /ui/ (index.html) or /ui/FILE; 404 for an unknown
// file, 405 for other methods. Answers carry an ETag (the file's SHA-256) and answer a matching
// If-None-Match with 304, and a Content-Security-Policy that allows this origin only.
http::Response ServeUi(const http::Request& req);

}  // namespace kumo::server
