#include "cache/io/fill_mailbox.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

namespace kumo::cache {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

// What a worker sees: the fd turns readable when a fill thread posts, Take hands over every
// completion in order and leaves the fd quiet until the next Post.
TEST(FillMailbox, PostsFromAnotherThreadWakeTheFdAndAreTakenInOrder) {
  FillMailbox box;
  EXPECT_FALSE(Readable(box.fd()));
  std::thread filler([&] {
    box.Post({7, 1, StoreStatus()});
    box.Post({9, 2, StoreStatus(Status::NotFound("not in the origin"))});
  });
  filler.join();
  EXPECT_TRUE(Readable(box.fd()));
  std::vector<FillCompletion> got = box.Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].conn_key, 7u);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_TRUE(got[0].status.ok());
  EXPECT_EQ(got[1].conn_key, 9u);
  EXPECT_EQ(got[1].status.code(), StatusCode::kNotFound);
  EXPECT_FALSE(Readable(box.fd()));
  EXPECT_TRUE(box.Take().empty());
  box.Post({3, 4, StoreStatus()});
  EXPECT_TRUE(Readable(box.fd()));
}

}  // namespace
}  // namespace kumo::cache
