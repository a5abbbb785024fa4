// TimedStream: a blocking stream (a TCP socket) whose every read and write waits at most
// `timeout` for its socket to become ready, for Beast's synchronous http::read / http::write.
//
// Why not SO_RCVTIMEO: Asio's synchronous operations take the EAGAIN such a timeout produces
// for "not ready yet" and poll again with no limit (boost/asio/detail/impl/socket_ops.ipp,
// sync_recv), so a server that accepted and never answered held `kumo whoami` forever, and a
// half-open watch connection froze an informer. Here the wait is our own poll() with a
// deadline before each read_some/write_some. The timeout bounds silence, not a whole response:
// a large body that keeps arriving is never cut.
//
// TLS goes on top of it, not under it: asio::ssl::stream<TimedStream<tcp::socket>> (the TLS
// layer reads and writes the socket through this one), so the handshake and every record are
// bounded too. Wrapped around the TLS stream instead, a handshake, or a record that stopped
// arriving half-way, would wait inside the TLS layer's own read of the socket, with no deadline.
// For that use it gives the TLS stream what it asks of its next layer: lowest_layer() and
// lowest_layer_type.
//
// Satisfies Beast's SyncReadStream and SyncWriteStream. Thread safety: as the stream.
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/system_error.hpp>

namespace kumo::http {

template <class Stream>
class TimedStream {
 public:
  using lowest_layer_type = typename Stream::lowest_layer_type;

  // `fd`: the socket under `stream`.
  TimedStream(Stream& stream, int fd, std::chrono::milliseconds timeout)
      : stream_(stream), fd_(fd), timeout_(timeout) {}

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  lowest_layer_type& lowest_layer() { return stream_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return stream_.lowest_layer(); }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, boost::beast::error_code& ec) {
    if (!Wait(POLLIN, ec)) return 0;
    return stream_.read_some(buffers, ec);
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    return OrThrow([&](boost::beast::error_code& ec) { return read_some(buffers, ec); });
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
    if (!Wait(POLLOUT, ec)) return 0;
    return stream_.write_some(buffers, ec);
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    return OrThrow([&](boost::beast::error_code& ec) { return write_some(buffers, ec); });
  }

 private:
  // The throwing form Beast's stream concepts also ask for, over the error_code form.
  template <class Op>
  static size_t OrThrow(Op op) {
    boost::beast::error_code ec;
    size_t n = op(ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  // Whether the socket became ready for `events` within the timeout; ec = timed_out if not.
  bool Wait(short events, boost::beast::error_code& ec) {
    pollfd p{fd_, events, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    } while (r < 0 && errno == EINTR);
    if (r == 0) ec = boost::asio::error::timed_out;
    if (r < 0) ec = boost::beast::error_code(errno, boost::system::system_category());
    return r > 0;
  }

  Stream& stream_;
  int fd_;
  std::chrono::milliseconds timeout_;
};

}  // namespace kumo::http
