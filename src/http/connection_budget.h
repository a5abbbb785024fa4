// ConnectionBudget: which connections the control plane's HTTP server keeps when clients open
// more than it can serve — pure bookkeeping, no sockets or clock (the server guards it with
// its mutex and closes what it is told to shed).
//
// Two pools. Every new connection enters the *unauthenticated* pool: nothing is known about it
// yet. Once a request head on it passes the token check it moves to the *authenticated* pool,
// which has its own, larger budget. An attacker without a token therefore competes only with
// other connections that have not yet sent a complete, authorized head — and a legitimate
// client sends its head within one round trip of connecting.
//
// When the unauthenticated pool is full, or the client's IP address holds its per-IP share of
// it, the *oldest* unauthenticated connection (of that IP when the per-IP cap is the limit) is
// shed to make room: a new connection is always admitted. Shedding the oldest rather than
// refusing the newest is what keeps a trickle attack (slowloris: many connections, each
// sending a byte now and then so it never times out) from locking everyone out: every fresh
// connection gets its round trip to authenticate, and the trickling ones are the ones closed.
// The authenticated pool refuses (503) when full instead: those clients hold valid tokens.
//
// Example (limits unauthenticated 3, per IP 2): a from 10.0.0.1, b from 10.0.0.1 → admitted;
// c from 10.0.0.1 → a shed (per-IP cap); d from 10.0.0.2 → admitted; e from 10.0.0.3 → the
// pool holds b, c, d: b, the oldest, is shed.
//
// Thread safety: none; callers serialize.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>

namespace kumo::http {

class ConnectionBudget {
 public:
  struct Limits {
    size_t max_unauthenticated = 512;
    size_t max_unauthenticated_per_ip = 256;
    size_t max_authenticated = 1024;
  };
  using Id = uint64_t;

  explicit ConnectionBudget(Limits limits) : limits_(limits) {}

  // A new connection `id` from `ip` joins the unauthenticated pool. Returns the connection
  // shed to make room, if one was; it is forgotten here (a later Release of it is a no-op).
  // REQUIRES: `id` not already known.
  std::optional<Id> Admit(Id id, const std::string& ip);
  // A head on `id` was authorized: it moves to the authenticated pool. false when that pool is
  // full (the connection stays where it was). true when already authenticated.
  // REQUIRES: `id` admitted and not released or shed.
  bool Promote(Id id);
  // The connection closed. Unknown ids (already shed) are ignored.
  void Release(Id id);

  size_t unauthenticated() const { return order_.size(); }
  size_t authenticated() const { return authenticated_; }

 private:
  struct Entry {
    std::string ip;
    bool authenticated = false;
    std::list<Id>::iterator in_order, in_ip;  // valid while unauthenticated
  };
  void Forget(std::map<Id, Entry>::iterator it);
  // Takes an unauthenticated entry out of the two queues.
  void Unlink(Entry& e);

  Limits limits_;
  std::map<Id, Entry> entries_;
  std::list<Id> order_;                          // unauthenticated, oldest first
  std::map<std::string, std::list<Id>> by_ip_;   // unauthenticated per IP, oldest first
  size_t authenticated_ = 0;
};

}  // namespace kumo::http
