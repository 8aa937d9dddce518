// LogLine: one line of a server's log (the relay's, `daicho serve`'s) in the
// form operators grep and parse: "event=NAME key=value key=\"two words\"".
// Values are quoted when they hold a space, a quote, '=' or nothing, and
// control characters are escaped, so a hostile Hello (a contract "number"
// with a newline) can never forge a second line. The process's sink adds the
// timestamp (docs/operations.md "Log lines").
#ifndef DAICHO_TRANSPORT_LOG_LINE_H_
#define DAICHO_TRANSPORT_LOG_LINE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "daicho/replica_id.h"

namespace daicho::transport {

class LogLine {
 public:
  explicit LogLine(std::string_view event);

  // Appends " key=value"; an empty value is written as "-" (not known).
  LogLine& Add(std::string_view key, std::string_view value);
  LogLine& Add(std::string_view key, uint64_t value);
  // Appends " key=\"value\"" always quoted: for free text such as an outcome.
  LogLine& AddQuoted(std::string_view key, std::string_view value);

  const std::string& str() const { return line_; }

 private:
  void AppendQuoted(std::string_view value);
  std::string line_;
};

// "2026-12-07T08:15:02.123Z": ISO-8601 UTC with milliseconds, what a
// server's log sink puts in front of every line.
std::string LogTimestamp(std::chrono::system_clock::time_point when);

// A PC as log lines name it: the first 8 hex digits of its replica id (what
// `daicho-relay device list` shows); empty (logged "-") for a zero id.
std::string ShortDeviceId(const ReplicaId& replica);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_LOG_LINE_H_
