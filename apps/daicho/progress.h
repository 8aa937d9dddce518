// ProgressBar: a one-line progress bar for long imports and syncs.
//
// Draws only to the stream it is given; the CLI passes std::cerr when stderr
// is a terminal and nullptr otherwise, so pipes, logs and tests never see
// control characters. Redraws only when the shown percentage changes.
// Not thread-safe.
#ifndef DAICHO_APPS_DAICHO_PROGRESS_H_
#define DAICHO_APPS_DAICHO_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>

namespace daicho::cli {

// True iff standard error is a terminal.
bool StderrIsTerminal();

class ProgressBar {
 public:
  // `out` nullptr disables the bar (every call becomes a no-op).
  ProgressBar(std::string label, uint64_t total, std::ostream* out);
  ~ProgressBar();  // calls Finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Shows `done` of `total` (clamped to total), then `detail` (e.g. bytes
  // moved), which is redrawn only with the percentage.
  void Update(uint64_t done, const std::string& detail = "");
  // Ends the line; later calls do nothing.
  void Finish();

 private:
  void Draw(uint64_t done, const std::string& detail);

  std::string label_;
  uint64_t total_;
  std::ostream* out_;
  int shown_percent_ = -1;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_PROGRESS_H_
