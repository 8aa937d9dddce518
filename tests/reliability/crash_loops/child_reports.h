// How a forked child of the crash loops tells the parent what it got done
// before it was killed: one line per event on a pipe, written only once the
// event is complete (a commit returned, a progress report arrived), so the
// lines the parent reads after the kill are exactly what was promised.
// Header-only.
#ifndef DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_CHILD_REPORTS_H_
#define DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_CHILD_REPORTS_H_

#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/test_util.h"

namespace daicho::reliability {

// In the child: false if the parent is gone.
inline bool ReportLine(int fd, const std::string& line) {
  const std::string text = line + "\n";
  return testing::WriteAll(fd, text.data(), text.size());
}

// In the parent, once the child is dead: every complete line it wrote.
inline std::vector<std::string> ReadReportLines(int fd) {
  std::vector<std::string> lines;
  std::istringstream in(testing::ReadToEnd(fd));
  for (std::string line; std::getline(in, line);) {
    if (!in.eof()) lines.push_back(line);  // a line cut by the kill is not a report
  }
  return lines;
}

}  // namespace daicho::reliability

#endif  // DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_CHILD_REPORTS_H_
