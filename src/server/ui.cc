#include "server/ui.h"

#include <map>
#include <string>

#include "base/sha256.h"
#include "server/http_json.h"
#include "server/ui_assets.h"

namespace kumo::server {
namespace {

struct File {
  std::string_view bytes;
  std::string content_type, etag;
};

std::string ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// Built once: names, types and digests of the embedded files.
const std::map<std::string, File, std::less<>>& Files() {
  static const auto* files = [] {
    auto* m = new std::map<std::string, File, std::less<>>;
    for (const UiAsset& a : kUiAssets)
      (*m)[std::string(a.name)] = {a.bytes, ContentType(a.name),
                                   "\"" + Sha256Hex(std::string(a.bytes)) + "\""};
    return m;
  }();
  return *files;
}

}  // namespace

http::Response ServeUi(const http::Request& req) {
  if (req.method != "GET") return ErrorResponse(405, req.method + " not allowed on " + req.path);
  if (req.path == "/ui") return {301, "text/plain", "", {{"Location", "/ui/"}}};
  std::string name = req.path.substr(4);  // after "/ui/"
  if (name.empty()) name = "index.html";
  auto it = Files().find(name);
  if (it == Files().end()) return ErrorResponse(404, "no such file: " + req.path);
  const File& f = it->second;
  std::vector<std::pair<std::string, std::string>> headers = {
      {"ETag", f.etag},
      {"Cache-Control", "no-cache"},  // revalidate: a new server version has new files
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"}};
  if (req.Header("if-none-match") == f.etag) return {304, f.content_type, "", headers};
  return {200, f.content_type, std::string(f.bytes), headers};
}

}  // namespace kumo::server
