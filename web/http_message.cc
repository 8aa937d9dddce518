#include "web/http_message.h"

#include <algorithm>
#include <string>

#include "web/text.h"

namespace daicho::web {
namespace {

// Field values may hold any byte but the controls; tab is allowed (RFC 9110
// section 5.5), DEL is not.
bool IsFieldValueChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

Status CheckResponse(const HttpResponse& response) {
  // 1xx answers belong to the protocol (101 would claim an upgrade), not to
  // a handler; 204 and 304 are defined to carry no body.
  if (response.status < 200 || response.status > 599) {
    return Internal("HTTP handler answered status " + std::to_string(response.status));
  }
  if ((response.status == 204 || response.status == 304) && !response.body.empty()) {
    return Internal("HTTP handler answered status " + std::to_string(response.status) + " with a body");
  }
  for (const auto& [name, value] : response.headers) {
    if (!IsToken(name)) {
      return Internal("HTTP handler answered a header with a bad name");
    }
    if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
      return Internal("HTTP handler answered header " + name + " with a control character");
    }
  }
  return Status::Ok();
}

}  // namespace daicho::web
