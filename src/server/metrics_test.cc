#include "server/metrics.h"

#include <gtest/gtest.h>

namespace kumo::server {
namespace {

TEST(RouteTemplateTest, IdentifiersBecomePlaceholders) {
  EXPECT_EQ(RouteTemplate("/v1/jobs"), "/v1/jobs");
  EXPECT_EQ(RouteTemplate("/v1/jobs/17"), "/v1/jobs/{id}");
  EXPECT_EQ(RouteTemplate("/v1/jobs/17/logs"), "/v1/jobs/{id}/logs");
  EXPECT_EQ(RouteTemplate("/v1/nodes/node-3/drain"), "/v1/nodes/{name}/drain");
  EXPECT_EQ(RouteTemplate("/v1/projects/vision"), "/v1/projects/{name}");
  EXPECT_EQ(RouteTemplate("/metrics"), "/metrics");
  EXPECT_EQ(RouteTemplate("/ui/app.js"), "/ui");
}

TEST(RouteTemplateTest, UnknownPathsShareOneLabel) {
  // A scanner probing random paths must not grow the label set.
  EXPECT_EQ(RouteTemplate("/"), "other");
  EXPECT_EQ(RouteTemplate("/wp-admin/x.php"), "other");
  EXPECT_EQ(RouteTemplate("/v1/secret"), "other");
  EXPECT_EQ(RouteTemplate("/v1/jobs/1/random-action"), "other");
  EXPECT_EQ(RouteTemplate("/v1/jobs/1/logs/more"), "other");
}

}  // namespace
}  // namespace kumo::server
