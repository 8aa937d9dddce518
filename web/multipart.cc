#include "web/multipart.h"

#include "web/text.h"

namespace daicho::web {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr size_t kMaxBoundaryBytes = 70;  // RFC 2046 section 5.1.1

// The value of parameter `name` in `header` ("form-data; name=\"a\""), a
// quoted string (backslash escapes undone) or a token. nullopt if absent.
std::optional<std::string> Parameter(std::string_view header, std::string_view name) {
  size_t at = header.find(';');
  while (at != std::string_view::npos) {
    std::string_view rest = TrimOws(header.substr(at + 1));
    const size_t equals = rest.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const bool match = EqualsIgnoreCase(TrimOws(rest.substr(0, equals)), name);
    std::string_view value = TrimOws(rest.substr(equals + 1));
    std::string out;
    size_t end = 0;
    if (value.starts_with('"')) {
      for (end = 1; end < value.size() && value[end] != '"'; ++end) {
        if (value[end] == '\\' && end + 1 < value.size()) ++end;
        out.push_back(value[end]);
      }
      if (end == value.size()) return std::nullopt;  // unterminated
      ++end;
    } else {
      end = value.find(';');
      if (end == std::string_view::npos) end = value.size();
      out = std::string(TrimOws(value.substr(0, end)));
    }
    if (match) return out;
    const size_t next = value.find(';', end);
    if (next == std::string_view::npos) return std::nullopt;
    at = static_cast<size_t>(value.data() - header.data()) + next;  // `value` views into `header`
  }
  return std::nullopt;
}

// The file name without any folder a browser may have left in it.
std::string BaseName(std::string_view path) {
  const size_t slash = path.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// One part's header block (without its final blank line) into its
// disposition and content type.
Status ReadPartHeaders(std::string_view block, std::string& disposition, std::string& content_type) {
  while (!block.empty()) {
    const size_t end = block.find(kCrlf);
    const std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view() : block.substr(end + kCrlf.size());
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return InvalidArgument("multipart: a part's header line has no ':'");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-disposition")) disposition = std::string(value);
    if (EqualsIgnoreCase(name, "content-type")) content_type = std::string(value);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  if (!EqualsIgnoreCase(TrimOws(content_type.substr(0, semicolon)), "multipart/form-data")) {
    return InvalidArgument("not a multipart/form-data body");
  }
  std::optional<std::string> boundary = Parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > kMaxBoundaryBytes) {
    return InvalidArgument("multipart/form-data without a boundary of 1-70 characters");
  }
  return *boundary;
}

Result<MultipartForm> ParseMultipart(std::string_view body, std::string_view boundary, const MultipartLimits& limits) {
  if (boundary.empty()) return InvalidArgument("multipart: empty boundary");
  const std::string delimiter = "--" + std::string(boundary);
  // The first delimiter opens the body (a preamble before it is ignored).
  size_t at = body.starts_with(delimiter) ? 0 : body.find(std::string(kCrlf) + delimiter);
  if (at == std::string_view::npos) return InvalidArgument("multipart: no opening boundary");
  if (at != 0) at += kCrlf.size();
  at += delimiter.size();
  const std::string next_delimiter = std::string(kCrlf) + delimiter;
  MultipartForm form;
  for (size_t parts = 0;; ++parts) {
    if (body.substr(at).starts_with("--")) return form;  // the closing delimiter
    if (!body.substr(at).starts_with(kCrlf)) return InvalidArgument("multipart: a boundary not followed by CRLF");
    at += kCrlf.size();
    if (parts == limits.max_parts) {
      return ResourceExhausted("multipart: more than " + std::to_string(limits.max_parts) + " parts");
    }
    // Headers end at the first blank line (an empty block: no headers).
    const size_t headers_end = body.substr(at).starts_with(kCrlf) ? at : body.find("\r\n\r\n", at);
    if (headers_end == std::string_view::npos) return InvalidArgument("multipart: a part's headers do not end");
    if (headers_end - at > limits.max_part_header_bytes) {
      return ResourceExhausted("multipart: a part's headers are longer than " +
                               std::to_string(limits.max_part_header_bytes) + " bytes");
    }
    std::string disposition, content_type;
    DAICHO_RETURN_IF_ERROR(ReadPartHeaders(body.substr(at, headers_end - at), disposition, content_type));
    at = headers_end + (headers_end == at ? kCrlf.size() : 2 * kCrlf.size());
    const size_t end = body.find(next_delimiter, at);
    if (end == std::string_view::npos) return InvalidArgument("multipart: the body ends inside a part (truncated?)");
    const std::string_view content = body.substr(at, end - at);
    at = end + next_delimiter.size();

    const std::optional<std::string> name = Parameter(disposition, "name");
    const std::string_view disposition_type = TrimOws(std::string_view(disposition).substr(0, disposition.find(';')));
    if (!EqualsIgnoreCase(disposition_type, "form-data") || !name || name->empty()) {
      return InvalidArgument("multipart: a part without Content-Disposition: form-data; name=...");
    }
    if (name->size() > limits.max_name_bytes) {
      return ResourceExhausted("multipart: a field name longer than " + std::to_string(limits.max_name_bytes) +
                               " bytes");
    }
    if (std::optional<std::string> filename = Parameter(disposition, "filename")) {
      if (form.file) return InvalidArgument("multipart: more than one file");
      if (content.size() > limits.max_file_bytes) {
        return ResourceExhausted("multipart: the file is larger than " + std::to_string(limits.max_file_bytes) +
                                 " bytes");
      }
      form.file = MultipartFile{*name, BaseName(*filename), content_type, std::string(content)};
    } else {
      if (content.size() > limits.max_value_bytes) {
        return ResourceExhausted("multipart: field " + *name + " is longer than " +
                                 std::to_string(limits.max_value_bytes) + " bytes");
      }
      form.fields.emplace_back(*name, std::string(content));
    }
  }
}

}  // namespace daicho::web
