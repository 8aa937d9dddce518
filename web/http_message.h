// HttpRequest, HttpResponse and HttpHandler: one HTTP exchange as plain
// values, the seam between the transport that reads and writes the bytes
// (transport/, Beast) and the code that answers (the relay's admin panel),
// which thus never sees Boost. SyncServerOptions::http_handler takes an
// HttpHandler; docs/protocol.md "HTTP routes" says which requests reach it.
#ifndef DAICHO_WEB_HTTP_MESSAGE_H_
#define DAICHO_WEB_HTTP_MESSAGE_H_

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/status.h"

namespace daicho::web {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// A request as the transport read it: the header and the whole body (at
// most SyncServerOptions::max_http_body_bytes).
struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // "/admin/users?page=2" as sent
  std::string path;    // the target before '?', not percent-decoded
  std::string query;   // the target after '?' ("" when none)
  // In the order sent, names lower-cased; a repeated header appears once per line.
  HeaderFields headers;
  std::string body;
  // The peer's IP address without the port ("127.0.0.1"), the same string
  // SyncServerOptions::store_factory gets, so throttles key on one thing.
  std::string peer_address;
  // Whether the request came over TLS (Secure cookies, HSTS, the Origin scheme).
  bool tls = false;

  // The value of the first header named `lower_name` (lower case), "" if
  // absent. A view into `headers`: valid while the request is unchanged.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  // Added to the response as given. Content-Length and Connection are the
  // transport's (it sets them); a name or value holding a line break makes
  // the transport answer 500 instead (see CheckResponse).
  HeaderFields headers;
  std::string body;  // not sent for HEAD requests (Content-Length still is)
  // The transport answers no earlier than this after the request was fully
  // read: a floor that hides how long the handler worked (e.g. whether an
  // account exists). A timer waits it out; no thread is held.
  std::chrono::milliseconds min_latency{0};
};

// Answers one request. May block (it runs on an HTTP worker thread of the
// server, never on a thread that moves sync frames) and is called from
// several threads at once. An exception it throws becomes a 500 answer and a
// log line.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Ok when `response` can be written as it is: a status from 200 to 599
// (no body with 204 or 304), header names made of RFC 9110 token characters and values free of control
// characters other than tab (a CR or LF would let a reflected value forge
// headers). kInternal saying what is wrong otherwise: the handler's bug.
Status CheckResponse(const HttpResponse& response);

}  // namespace daicho::web

#endif  // DAICHO_WEB_HTTP_MESSAGE_H_
