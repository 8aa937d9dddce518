// ContractNumber: the vendor's contract number that names one office (one
// tenant of the relay), written NNNN-NNNN-NNNN.
//
// A validated value type: the only way to get one is Parse(), so every
// ContractNumber in the relay is well-formed and exactly kSize bytes long
// (the relay's LMDB keys rely on that fixed length to keep one contract's keys
// from ever being a prefix of another's). Clients check it too, so a typo is
// reported before any connection is made. Thread-safe as any const value.
#ifndef DAICHO_SYNC_CONTRACT_NUMBER_H_
#define DAICHO_SYNC_CONTRACT_NUMBER_H_

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::sync {

class ContractNumber {
 public:
  // "0000-0000-0000": 12 digits and 2 hyphens.
  static constexpr size_t kSize = 14;

  // Accepts exactly four ASCII digits, '-', four digits, '-', four digits.
  // Anything else (other lengths, letters, full-width digits, spaces, missing
  // or misplaced hyphens) is kInvalidArgument with a message saying what is
  // expected.
  static Result<ContractNumber> Parse(std::string_view text);
  // A contract number as people type it: full-width digits and the hyphens
  // a Japanese IME makes are accepted, spaces dropped, and 12 digits without
  // hyphens; then Parse.
  static Result<ContractNumber> ParseTyped(std::string_view typed);

  const std::string& str() const { return text_; }

  friend auto operator<=>(const ContractNumber&, const ContractNumber&) = default;
  friend bool operator==(const ContractNumber&, const ContractNumber&) = default;

 private:
  explicit ContractNumber(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_CONTRACT_NUMBER_H_
