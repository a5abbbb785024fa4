// The long-running commands (`kumo server`, `kumo kube-scheduler`) stop on SIGINT or SIGTERM:
// both signals are blocked before any thread starts (so no thread of theirs is interrupted),
// and main waits for one with sigwait. SIGPIPE is ignored: a peer that hangs up is an error
// return, not the end of the process.
#pragma once

#include <signal.h>

namespace kumo::cli {

// Call first, before any thread starts; returns the set to wait on.
inline sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop;
}

// Blocks until SIGINT or SIGTERM arrives; returns its number.
inline int WaitForStopSignal(const sigset_t& stop) {
  int sig = 0;
  sigwait(&stop, &sig);
  return sig;
}

}  // namespace kumo::cli
