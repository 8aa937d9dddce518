// A run's trace: every event as a line, folded into a 64-bit FNV-1a hash (the
// same seed must give the same hash) and the last lines kept for the report
// of a failing seed.
#ifndef DAICHO_TESTS_RELIABILITY_SIMULATION_TRACE_H_
#define DAICHO_TESTS_RELIABILITY_SIMULATION_TRACE_H_

#include <cstdint>
#include <deque>
#include <iostream>
#include <string>
#include <string_view>

namespace daicho::simulation {

class Trace {
 public:
  // With `echo`, every event is also written to stderr (--trace).
  explicit Trace(bool echo = false) : echo_(echo) {}

  void Note(std::string_view event) {
    if (echo_) std::cerr << event << '\n';
    for (unsigned char c : event) Mix(c);
    Mix('\n');
    tail_.emplace_back(event);
    if (tail_.size() > kTailLines) tail_.pop_front();
  }
  uint64_t hash() const { return hash_; }
  // The last events, one per line.
  std::string Tail() const {
    std::string out;
    for (const std::string& line : tail_) out += "  " + line + "\n";
    return out;
  }

 private:
  static constexpr size_t kTailLines = 40;
  void Mix(unsigned char c) { hash_ = (hash_ ^ c) * 0x100000001b3ull; }

  const bool echo_;
  uint64_t hash_ = 0xcbf29ce484222325ull;
  std::deque<std::string> tail_;
};

}  // namespace daicho::simulation

#endif  // DAICHO_TESTS_RELIABILITY_SIMULATION_TRACE_H_
