// TimedSocket: a blocking TCP socket whose every read and write waits at most `timeout` for
// the socket to become ready, for Beast's synchronous http::read / http::write.
//
// Why not SO_RCVTIMEO: Asio's synchronous operations take the EAGAIN such a timeout produces
// for "not ready yet" and poll again with no limit (boost/asio/detail/impl/socket_ops.ipp,
// sync_recv), so a server that accepts and never answers held `kumo whoami` forever. Here the
// wait is our own poll() with a deadline, then one read_some/write_some that cannot block (the
// socket is ready). The timeout bounds silence, not a whole response: a large body that keeps
// arriving is never cut.
//
// Satisfies Beast's SyncReadStream and SyncWriteStream. Thread safety: as the socket.
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/system_error.hpp>

namespace kumo::http {

class TimedSocket {
 public:
  TimedSocket(boost::asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout)
      : socket_(socket), timeout_(timeout) {}

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, boost::beast::error_code& ec) {
    if (!Wait(POLLIN, ec)) return 0;
    return socket_.read_some(buffers, ec);
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    boost::beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
    if (!Wait(POLLOUT, ec)) return 0;
    return socket_.write_some(buffers, ec);
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    boost::beast::error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  // Whether the socket became ready for `events` within the timeout; ec = timed_out if not.
  bool Wait(short events, boost::beast::error_code& ec) {
    pollfd p{socket_.native_handle(), events, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    } while (r < 0 && errno == EINTR);
    if (r == 0) ec = boost::asio::error::timed_out;
    if (r < 0) ec = boost::beast::error_code(errno, boost::system::system_category());
    return r > 0;
  }

  boost::asio::ip::tcp::socket& socket_;
  std::chrono::milliseconds timeout_;
};

}  // namespace kumo::http
