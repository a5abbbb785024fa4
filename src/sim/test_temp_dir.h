// TempDir: a fresh directory under /tmp for a test, removed with everything in it at the end.
// (Test-only; used by the simulator's reader tests.)
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace kumo::sim {

class TempDir {
 public:
  TempDir() {
    char name_pattern[] = "/tmp/kumo_test_XXXXXX";  // mkdtemp fills in the X's
    const char* d = mkdtemp(name_pattern);
    EXPECT_NE(d, nullptr);
    if (d != nullptr) path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to <dir>/<name> and returns the full path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream out(p, std::ios::binary);
    out << text;
    EXPECT_TRUE(out.good()) << p;
    return p;
  }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace kumo::sim
