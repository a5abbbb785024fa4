#include "cache/io/io_backend.h"

#include <liburing.h>
#include <sys/utsname.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace kumo::cache {

const char* IoBackendName(IoBackend backend) {
  return backend == IoBackend::kUring ? "uring" : "epoll";
}

Result<IoChoice> ParseIoChoice(std::string_view text) {
  if (text == "epoll") return IoChoice::kEpoll;
  if (text == "uring") return IoChoice::kUring;
  if (text == "auto") return IoChoice::kAuto;
  return Error(Status::InvalidArgument("--io wants epoll, uring or auto, not \"" +
                                       std::string(text) + "\""));
}

UringProbe ProbeUring() {
  // Test hook (documented in docs/cache.md): lets tests see the behaviour of a kernel without
  // io_uring on one that has it.
  if (const char* hook = std::getenv("KUMO_CACHE_DISABLE_URING");
      hook && std::strcmp(hook, "1") == 0)
    return {false, "disabled by KUMO_CACHE_DISABLE_URING=1"};
  // 0: allowed; 1: only for members of kernel.io_uring_group; 2: nobody (Linux 6.6+). With 1
  // the init below tells whether this process qualifies.
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (sysctl >> disabled && disabled == 2)
    return {false, "disabled by the kernel (/proc/sys/kernel/io_uring_disabled = 2)"};
  io_uring ring;
  if (int rc = io_uring_queue_init(8, &ring, 0); rc < 0)
    return {false, std::string("io_uring_queue_init: ") + std::strerror(-rc) +
                       (disabled == 1 ? " (kernel.io_uring_disabled = 1)" : "")};
  UringProbe result{true, ""};
  if (!(ring.features & IORING_FEAT_EXT_ARG)) {
    result = {false, "kernel lacks IORING_FEAT_EXT_ARG (wait with timeout; Linux 5.11)"};
  } else if (io_uring_probe* probe = io_uring_get_probe_ring(&ring); probe == nullptr) {
    result = {false, "io_uring_get_probe_ring failed (Linux 5.6 or later needed)"};
  } else {
    struct Needed {
      int op;
      const char* name;
    };
    for (Needed n : {Needed{IORING_OP_ACCEPT, "ACCEPT"}, Needed{IORING_OP_RECV, "RECV"},
                     Needed{IORING_OP_SEND, "SEND"}, Needed{IORING_OP_POLL_ADD, "POLL_ADD"},
                     Needed{IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}})
      if (!io_uring_opcode_supported(probe, n.op)) {
        result = {false, std::string("kernel lacks IORING_OP_") + n.name};
        break;
      }
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  if (result.usable) {
    utsname u{};
    uname(&u);
    result.detail = std::string("ok (kernel ") + u.release + ")";
  }
  return result;
}

Result<IoBackend> ChooseIoBackend(IoChoice choice, const UringProbe& probe,
                                  std::string* fallback_note) {
  fallback_note->clear();
  switch (choice) {
    case IoChoice::kEpoll:
      return IoBackend::kEpoll;
    case IoChoice::kUring:
      if (!probe.usable)
        return Error(Status::FailedPrecondition("--io uring: io_uring is not usable here: " +
                                                probe.detail + " (use --io epoll or auto)"));
      return IoBackend::kUring;
    case IoChoice::kAuto:
      if (probe.usable) return kAutoPreferredBackend;
      *fallback_note = "--io auto: io_uring not usable (" + probe.detail + "), using epoll";
      return IoBackend::kEpoll;
  }
  return IoBackend::kEpoll;
}

}  // namespace kumo::cache
