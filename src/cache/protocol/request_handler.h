// The HTTP/1.1 request logic of one cache worker, apart from how bytes reach and leave the
// socket: parsing, auth, routing, the store and the response head/body are decided here, and an
// I/O backend (io/epoll_worker.cc, io/uring_worker.cc) only moves bytes. The contract between
// them:
//
//   1. The backend reads into `Conn::in` at the span InputSpace() gives, then calls
//      OnInput(n) and Pump().
//   2. Process() handles buffered requests until one response is pending (`response_pending`):
//      `out[out_off..]` (head, plus the body when it is small), then `file_left` bytes of
//      `file` from `file_off` (sendfile). It returns with nothing pending when it needs input.
//   3. The pending response is sent in any number of steps, OnSent() after each, then
//      Complete(), and back to 2. While a response is pending nothing is read, so pipelined
//      input waits in the kernel and memory per connection stays bounded.
//   4. `closing` set anywhere means: close the connection (after what was sent).
//   5. A GET that misses with an origin (origin.h) parks the connection: the copy is handed to
//      the origin's fill threads and Pump answers kWaitFill, the request head still buffered.
//      The backend reads nothing more from it (as while a response is pending) and watches
//      fill_fd(); when that is readable it calls TakeFills, then, for each completion whose
//      connection it still has, OnFillDone and Pump. The head is then dispatched again and
//      answered from the store (or with the fill's error). The worker serves its other
//      connections meanwhile.
//
// Pump() runs 2-4 for every backend and stops at the first step only the backend can take
// (PumpStep): read, send the head, wait until the socket is writable, or close.
//
// Two writes bypass the backend, both with a plain non-blocking send(2) at a moment when no
// send of the backend's is in flight: the best-effort `100 Continue` (Process) and the 408
// before a close (SendNowAndForget).
//
// Thread safety: one handler per worker thread; everything runs on that thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "cache/auth/auth.h"
#include "cache/io/fill_mailbox.h"
#include "cache/metrics.h"
#include "cache/protocol/http_parser.h"
#include "cache/server.h"
#include "cache/storage/object_path.h"
#include "cache/storage/object_store.h"

namespace kumo::cache {

inline constexpr size_t kInputBufferBytes = 64 * 1024;
// A body we do not store must not be parsed as the next request: up to this much of it is
// skipped (the client then reads our answer on a live connection); beyond, the connection closes.
inline constexpr uint64_t kMaxDiscardBytes = 1 << 20;

struct Conn {
  int fd = -1;
  std::vector<char> in = std::vector<char>(kInputBufferBytes);
  size_t in_start = 0, in_end = 0;
  bool reading_body = false;
  uint64_t discard_left = 0;  // body bytes of a refused request, skipped before the next head
  std::unique_ptr<PutWriter> writer;
  // While an upload whose token has sha256_keys (auth.h) is read: its bytes' SHA-256 so far,
  // and the one its key names, compared before the commit.
  std::unique_ptr<Sha256> body_sha256;
  std::string body_sha256_want;
  std::unique_ptr<ChunkedDecoder> chunked;  // while a chunked body is read (reading_body)
  uint64_t chunked_discard_left = 0;        // after a refused chunked upload: what may be skipped
  // The response being sent.
  bool response_pending = false;
  std::string out;
  size_t out_off = 0;
  std::shared_ptr<const ObjectFile> file;
  off_t file_off = 0;
  uint64_t file_left = 0;
  bool close_after = false;
  bool keep_alive = true;
  bool closing = false;
  Method method = Method::kOther;
  int status = 0;
  int64_t request_start_us = 0;
  int64_t last_active_s = 0;
  uint64_t key = 0;          // the backend's ConnTable key (fill completions name it)
  uint64_t fill_ticket = 0;  // non-zero while parked on an origin fill (step 5)
  std::optional<StoreStatus> fill_outcome;  // the landed fill, for the head's second dispatch
};

// Outcome of a non-blocking send step.
enum class SendProgress { kDone, kBlocked, kFailed };

// What the response pump waits for from the backend.
enum class PumpStep {
  kRead,          // nothing pending: read more into InputSpace(), then OnInput() and Pump()
  kSend,          // send out[out_off..] (MSG_MORE while file_left > 0), OnSent(), then Pump()
  kWaitWritable,  // the file body would block: Pump() again once the socket is writable
  kWaitFill,      // parked on an origin fill: read nothing; OnFillDone() and Pump() when it lands
  kClose,         // `closing`: close the connection
};

class RequestHandler {
 public:
  // None owned; all must outlive the handler. `auth` null: --no-auth.
  RequestHandler(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
                 const Authenticator* auth);

  // Refreshes the clock and the Date field; true when a new second began (time to sweep).
  bool Tick();
  int64_t now_s() const { return now_s_; }
  WorkerMetrics& metrics() { return metrics_; }
  const WorkerMetrics& metrics() const { return metrics_; }

  // Where the next read goes; false when the buffer is full (only a head can fill it, and the
  // parser has answered 431 by then): close the connection.
  bool InputSpace(Conn& c, char** data, size_t* size);
  void OnInput(Conn& c, size_t bytes);  // `bytes` > 0 were read into InputSpace
  // The response pump (steps 2-4): answers buffered requests, sends file bodies and completes
  // responses until the backend must act.
  PumpStep Pump(Conn& c);
  void OnSent(Conn& c, size_t bytes);

  // Header/body/idle timeouts (ServerOptions): true when the connection must be closed. A head
  // that timed out has been answered 408 already (SendNowAndForget).
  // A parked connection never times out: it waits for its fill.
  bool CheckTimeout(Conn& c);

  // Step 5: the eventfd that is readable while fill completions wait, and the batch.
  int fill_fd() const { return fills_->fd(); }
  std::vector<FillCompletion> TakeFills() { return fills_->Take(); }
  // False when `c` is not parked on `done.ticket` (it parked again since, or is another
  // connection on a reused key): then there is nothing to do.
  bool OnFillDone(Conn& c, const FillCompletion& done);

 private:
  // One non-blocking send of what is queued (no body file), then Complete; for answers that
  // precede a close (408), where waiting for a slow reader is not worth it.
  void SendNowAndForget(Conn& c);
  void Process(Conn& c);
  // The pending response is out: records it and resets; a Connection: close response shuts
  // the write side and sets `closing`.
  void Complete(Conn& c);
  // sendfile of the pending body on a non-blocking socket until it is out or would block.
  SendProgress SendFileBody(Conn& c);
  std::string Head(Conn& c, int status, uint64_t content_length);
  void Queue(Conn& c, int status, std::string out);
  void QueueSimple(Conn& c, int status, const std::string& body, bool close_after,
                   const char* extra = "");
  void QueueStatus(Conn& c, const StoreStatus& s, bool close_after);
  void Dispatch(Conn& c, const RequestHead& head);
  bool RedirectToOwner(Conn& c, const RequestHead& head, const ObjectName& name, bool* is_owner);
  void StartPut(Conn& c, const RequestHead& head, const ObjectName& name, bool sha256_key);
  // The next bytes of the body to the writer (and to body_sha256).
  StoreStatus AppendBody(Conn& c, std::string_view bytes);
  void CommitPut(Conn& c);
  bool ContinueChunkedBody(Conn& c);
  void Read(Conn& c, const RequestHead& head, const ObjectName& name, bool owner);
  // The object for a read, or nullopt when an answer was queued or the connection parked.
  std::optional<ObjectInfo> Lookup(Conn& c, bool is_get, const ObjectName& name, bool owner);

  const ServerOptions& options_;
  const CacheServer* server_;
  ObjectStore* store_;
  const Authenticator* auth_;
  WorkerMetrics metrics_;
  TokenCache tokens_;
  std::shared_ptr<FillMailbox> fills_ = std::make_shared<FillMailbox>();
  uint64_t last_ticket_ = 0;
  int64_t now_s_ = 0;
  std::string date_;  // "Date: ...\r\n", refreshed each second (RFC 9110 §6.6.1)
};

}  // namespace kumo::cache
