#include "server/ui.h"

#include <gtest/gtest.h>

namespace kumo::server {
namespace {

http::Request Get(const std::string& path) {
  http::Request r;
  r.method = "GET";
  r.path = r.target = path;
  return r;
}

std::string HeaderOf(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(ServeUiTest, ServesTheEmbeddedPage) {
  http::Response index = ServeUi(Get("/ui/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<script type=\"module\" src=\"app.js\">"), std::string::npos);
  EXPECT_EQ(ServeUi(Get("/ui/index.html")).body, index.body);
  http::Response js = ServeUi(Get("/ui/app.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("Authorization"), std::string::npos);
  EXPECT_EQ(ServeUi(Get("/ui/style.css")).content_type, "text/css; charset=utf-8");
  // Only this origin's scripts run: no CDN, no inline script.
  EXPECT_EQ(HeaderOf(index, "Content-Security-Policy").find("default-src 'self'"), 0u);
}

TEST(ServeUiTest, RedirectsNotFoundAndMethods) {
  http::Response bare = ServeUi(Get("/ui"));
  EXPECT_EQ(bare.status, 301);
  EXPECT_EQ(HeaderOf(bare, "Location"), "/ui/");
  EXPECT_EQ(ServeUi(Get("/ui/../kumo.db")).status, 404);
  EXPECT_EQ(ServeUi(Get("/ui/missing.js")).status, 404);
  http::Request post = Get("/ui/");
  post.method = "POST";
  EXPECT_EQ(ServeUi(post).status, 405);
}

TEST(ServeUiTest, AMatchingETagIsNotModified) {
  http::Response first = ServeUi(Get("/ui/app.js"));
  std::string etag = HeaderOf(first, "ETag");
  ASSERT_EQ(etag.size(), 66u);  // "hex sha256"
  http::Request again = Get("/ui/app.js");
  again.headers["if-none-match"] = etag;
  http::Response second = ServeUi(again);
  EXPECT_EQ(second.status, 304);
  EXPECT_EQ(second.body, "");
}

}  // namespace
}  // namespace kumo::server
