#include "apps/daicho/progress.h"

#include <unistd.h>

#include <algorithm>

namespace daicho::cli {

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, uint64_t total, std::ostream* out)
    : label_(std::move(label)), total_(total), out_(out) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, const std::string& detail) {
  if (out_ == nullptr || finished_) return;
  done = std::min(done, total_);
  int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
  // Redrawing on every row would make a big import terminal-bound.
  if (percent == shown_percent_) return;
  shown_percent_ = percent;
  Draw(done, detail);
}

void ProgressBar::Draw(uint64_t done, const std::string& detail) {
  constexpr int kWidth = 30;
  int filled = shown_percent_ * kWidth / 100;
  // '\r' returns to the line start; the bar overwrites itself in place.
  *out_ << '\r' << label_ << " [" << std::string(filled, '#') << std::string(kWidth - filled, ' ') << "] "
        << shown_percent_ << "% " << done << '/' << total_;
  // "\x1b[K" clears what a longer previous detail left at the line's end.
  if (!detail.empty()) *out_ << "  " << detail << "\x1b[K";
  *out_ << std::flush;
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (out_ != nullptr && drawn_) *out_ << '\n' << std::flush;
}

}  // namespace daicho::cli
