// FUZZ_CHECK(cond): a harness's invariant. abort() with the broken condition, so libFuzzer
// saves the input as a crash file (and replay_main.cc as crash-replay-input).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
