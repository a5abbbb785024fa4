// Which system interface a cache worker uses for socket I/O, and whether the kernel offers
// io_uring at all. The HTTP semantics do not depend on the choice (request_handler.h); only how
// reads, writes and waits are submitted does (epoll_worker.cc, uring_worker.cc).
//
// The probe (run once at start-up) says why io_uring is unusable when it is: the test hook
// KUMO_CACHE_DISABLE_URING=1, /proc/sys/kernel/io_uring_disabled = 2 (or 1 without the
// io_uring_group), io_uring_queue_init failing (seccomp, containers, old kernels), or a missing
// opcode. docs/cache.md has the measurements behind the `auto` choice.
//
// Thread safety: all functions are pure or read the environment; call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace kumo::cache {

enum class IoBackend { kEpoll, kUring };

// --io as given: a backend, or `auto` (let the probe and the measurement decide).
enum class IoChoice { kEpoll, kUring, kAuto };

const char* IoBackendName(IoBackend backend);  // "epoll", "uring"
Result<IoChoice> ParseIoChoice(std::string_view text);

struct UringProbe {
  bool usable = false;
  std::string
      detail;  // "ok (kernel 6.1.0)" or why not: "io_uring_queue_init: Operation not permitted"
};

// Creates and destroys a small ring and checks every opcode the uring worker submits.
UringProbe ProbeUring();

// The backend `auto` prefers when the probe passes: the measured winner (docs/cache.md, "I/O
// backends"). Changing it needs new figures.
inline constexpr IoBackend kAutoPreferredBackend = IoBackend::kEpoll;

// `--io uring` without a usable io_uring is an error naming the probe's reason; `auto` picks
// kAutoPreferredBackend when the probe passes and epoll otherwise (`*fallback_note` then says
// why, for the log).
Result<IoBackend> ChooseIoBackend(IoChoice choice, const UringProbe& probe,
                                  std::string* fallback_note);

}  // namespace kumo::cache
