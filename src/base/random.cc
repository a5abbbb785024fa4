#include "base/random.h"

#include <sys/random.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdlib>

namespace kumo {

void RandomBytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) std::abort();
    p += got;
    n -= static_cast<size_t>(got);
  }
}

}  // namespace kumo
