// The --io choice: the pure decision (ChooseIoBackend) and the probe's test hook. The real binary
// with --io is test/integration/cache_io_flag_test.cc.
#include "cache/io/io_backend.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace kumo::cache {
namespace {

TEST(CacheIoBackend, ParsesTheThreeChoicesAndNamesBadInput) {
  EXPECT_EQ(*ParseIoChoice("epoll"), IoChoice::kEpoll);
  EXPECT_EQ(*ParseIoChoice("uring"), IoChoice::kUring);
  EXPECT_EQ(*ParseIoChoice("auto"), IoChoice::kAuto);
  Result<IoChoice> bad = ParseIoChoice("io_uring");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "--io wants epoll, uring or auto, not \"io_uring\"");
}

TEST(CacheIoBackend, UringNeedsTheProbeAutoFallsBackToEpollWithANote) {
  UringProbe ok{true, "ok (kernel 6.1)"}, off{false, "disabled by the kernel"};
  std::string note;
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kEpoll, off, &note), IoBackend::kEpoll);
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kUring, ok, &note), IoBackend::kUring);
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kAuto, ok, &note), kAutoPreferredBackend);
  EXPECT_EQ(note, "");
  Result<IoBackend> refused = ChooseIoBackend(IoChoice::kUring, off, &note);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("--io uring: io_uring is not usable here: disabled by "
                                           "the kernel"),
            std::string::npos);
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kAuto, off, &note), IoBackend::kEpoll);
  EXPECT_EQ(note, "--io auto: io_uring not usable (disabled by the kernel), using epoll");
}

TEST(CacheIoBackend, TestHookMakesTheProbeFail) {
  setenv("KUMO_CACHE_DISABLE_URING", "1", 1);
  UringProbe p = ProbeUring();
  unsetenv("KUMO_CACHE_DISABLE_URING");
  EXPECT_FALSE(p.usable);
  EXPECT_EQ(p.detail, "disabled by KUMO_CACHE_DISABLE_URING=1");
}

}  // namespace
}  // namespace kumo::cache
