#include "transport/log_line.h"

#include <time.h>

#include <cstdio>

namespace daicho::transport {
namespace {

bool NeedsQuotes(std::string_view value) {
  for (unsigned char c : value) {
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7F) return true;
  }
  return false;
}

}  // namespace

LogLine::LogLine(std::string_view event) : line_("event=") { line_ += event; }

LogLine& LogLine::Add(std::string_view key, std::string_view value) {
  line_ += ' ';
  line_ += key;
  line_ += '=';
  if (value.empty()) {
    line_ += '-';
  } else if (NeedsQuotes(value)) {
    AppendQuoted(value);
  } else {
    line_ += value;
  }
  return *this;
}

LogLine& LogLine::Add(std::string_view key, uint64_t value) { return Add(key, std::to_string(value)); }

LogLine& LogLine::AddQuoted(std::string_view key, std::string_view value) {
  line_ += ' ';
  line_ += key;
  line_ += '=';
  AppendQuoted(value);
  return *this;
}

void LogLine::AppendQuoted(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  line_ += '"';
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      line_ += '\\';
      line_ += static_cast<char>(c);
    } else if (c == '\n') {
      line_ += "\\n";
    } else if (c < 0x20 || c == 0x7F) {
      line_ += "\\x";
      line_ += kHex[c >> 4];
      line_ += kHex[c & 0xF];
    } else {
      line_ += static_cast<char>(c);
    }
  }
  line_ += '"';
}

std::string LogTimestamp(std::chrono::system_clock::time_point when) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(ms / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];  // room for any int fields, as the compiler checks
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

std::string ShortDeviceId(const ReplicaId& replica) {
  return replica.IsZero() ? std::string() : replica.ToHex().substr(0, 8);
}

}  // namespace daicho::transport
