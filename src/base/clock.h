// Clock: the way kumo code outside the core reads the time (the cache's request path still
// calls time(2) for token expiry: it has no injected clock yet).
//
// The core reads no clock at all (the caller passes `now`). Everything else that needs the time
// takes a `const Clock&` so a test can inject a FakeClock and step it by hand; production code
// passes SystemClock(). Times are seconds since the Unix epoch as double (microsecond
// resolution), the unit of every timestamp in the server's store and API.
//
// Thread safety: SystemClock() is safe from any thread. FakeClock is safe from any thread
// (an atomic); tests usually step it from one.
#pragma once

#include <atomic>

namespace kumo {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock seconds since the Unix epoch.
  virtual double NowSeconds() const = 0;
};

// The machine's real-time clock (CLOCK_REALTIME through std::chrono::system_clock).
const Clock& SystemClock();

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(double start_seconds = 1'000'000'000.0) : now_(start_seconds) {}
  double NowSeconds() const override { return now_.load(std::memory_order_relaxed); }
  void Set(double seconds) { now_.store(seconds, std::memory_order_relaxed); }
  // REQUIRES: seconds >= 0 (a clock does not run backwards).
  void Advance(double seconds) { Set(NowSeconds() + seconds); }

 private:
  std::atomic<double> now_;
};

}  // namespace kumo
