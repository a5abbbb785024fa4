// TempDir: a fresh directory for one test, removed with everything in it when the test ends.
// The one way tests make a scratch directory (unit and process tests alike).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace kumo::testing {

class TempDir {
 public:
  // Makes /tmp/PREFIX-XXXXXX (0700, mkdtemp); a failed test, and path() empty, if it cannot.
  explicit TempDir(const std::string& prefix = "kumo-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
      return;
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

  // Writes `text` to <dir>/<name> and returns the full path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = Path(name);
    std::ofstream out(p, std::ios::binary);
    out << text;
    EXPECT_TRUE(out.good()) << p;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace kumo::testing
