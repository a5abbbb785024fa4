// A request head as the control plane's HTTP server checks it before reading any body: the
// message framing rules of RFC 9110/9112 that a server must enforce so that it and any proxy
// in front of it agree where one request ends and the next begins (request smuggling), and
// the conversion of a parsed head into the handlers' Request.
#pragma once

#include <optional>
#include <string>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include "http/http.h"

namespace kumo::http {

using RequestHead = boost::beast::http::request_header<boost::beast::http::fields>;

// The refusal of a head whose framing is wrong, or std::nullopt:
//  - HTTP/1.1 without exactly one Host, or more than one Host: 400 (RFC 9112 §3.2);
//  - more than one Authorization: 400 (RFC 9110 §5.3: a field that is not a list may not be
//    repeated — and which one "wins" must not be left to chance);
//  - Transfer-Encoding together with Content-Length, or in an HTTP/1.0 request: 400
//    (RFC 9112 §6.1, the classic smuggling vector);
//  - more than one Transfer-Encoding field: 400 (parsers differ on which one counts);
//  - a transfer coding other than exactly `chunked`: 501 (RFC 9112 §6.1; kumo implements no
//    other coding, and guessing would parse the body as the next request).
std::optional<Response> CheckFraming(const RequestHead& head);

// The handlers' view of a head: method, target, decoded path and query, lower-cased header
// names (a repeated field keeps its last value; CheckFraming refused the repeats that
// matter), no body.
Request ToRequest(const RequestHead& head, std::string remote);

// The one error body of the HTTP layer: {"code": STATUS, "error": MESSAGE}.
Response ErrorAnswer(int status, const std::string& message);

}  // namespace kumo::http
