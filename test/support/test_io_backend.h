// For tests that start the real `kumo cache serve`: the I/O backend under test. ctest runs those
// suites once as they are (the default backend) and once more with KUMO_TEST_CACHE_IO=uring
// (CMakeLists.txt, cache_serve_tests_uring), so every one of them passes on both backends.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

namespace kumo::cache {

// Appends `--io VALUE` when KUMO_TEST_CACHE_IO=VALUE is set.
inline void AddTestIoFlag(std::vector<std::string>* serve_args) {
  const char* io = std::getenv("KUMO_TEST_CACHE_IO");
  if (io != nullptr && *io != '\0') serve_args->insert(serve_args->end(), {"--io", io});
}

}  // namespace kumo::cache
