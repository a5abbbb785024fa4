// `kumo cache serve --config FILE` on the real binary (the file's parser itself:
// src/cache/serve_config_test.cc).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test/support/test_process.h"

namespace kumo::cache {
namespace {

// The real binary: a bad file exits 2 naming line and key; a value from the file is checked
// like the flag it stands for.
TEST(CacheConfig, ServeRefusesABadFileWithExitCode2) {
  std::string dir = test_process::MakeTempDir("kumo-cache-config");
  ASSERT_FALSE(dir.empty());
  std::ofstream(dir + "/config.yaml") << "dir: " << dir << "/cache\nnoAuth: true\n\n"
                                      << "capacity: not-a-size\n";
  test_process::SpawnOptions o;
  o.stdout_path = dir + "/serve.out";  // stderr too
  int rc = test_process::RunToExit({KUMO_BINARY, "cache", "serve", "--config", dir + "/config.yaml"}, o);
  std::string out = test_process::ReadAll(o.stdout_path);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find(dir + "/config.yaml:4: capacity: not a size"), std::string::npos) << out;
  // The file's workers: 0 (no --workers on the command line) is refused like --workers 0.
  std::ofstream(dir + "/config.yaml") << "capacity: 1Mi\nworkers: 0\n";
  rc = test_process::RunToExit({KUMO_BINARY, "cache", "serve", "--config", dir + "/config.yaml",
                                "--dir", dir + "/cache", "--no-auth"},
                               o);
  out = test_process::ReadAll(o.stdout_path);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--workers wants 1..256"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kumo::cache
