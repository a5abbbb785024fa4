// DataDirLock: one kumo server per data dir (issue #12). Two servers on one dir would both
// schedule, launch and write the same rows (the second answered "UNIQUE constraint failed").
//
// flock(LOCK_EX | LOCK_NB) on <data_dir>/server.lock, which holds the holder's pid for the error
// message. The kernel drops the lock when the holder's descriptor closes, also on kill -9, so a
// crashed server never leaves a stale lock (a pid file alone would). The descriptor is
// close-on-exec and the task shims close every inherited descriptor, so tasks that outlive
// the server do not keep its lock.
#pragma once

#include <string>

#include "base/status.h"

namespace kumo::server {

class DataDirLock {
 public:
  // FailedPrecondition naming the dir and the holder's pid when another process holds it.
  // REQUIRES: data_dir exists.
  static Result<DataDirLock> Acquire(const std::string& data_dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();  // releases the lock

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace kumo::server
