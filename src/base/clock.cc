#include "base/clock.h"

#include <chrono>

namespace kumo {
namespace {

class RealClock final : public Clock {
 public:
  double NowSeconds() const override {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
  }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

}  // namespace kumo
