// Bytes as hexadecimal text and back: replica ids, and tokens the relay's
// panel puts in cookies.
#ifndef DAICHO_CORE_HEX_H_
#define DAICHO_CORE_HEX_H_

#include <optional>
#include <string>
#include <string_view>

namespace daicho::core {

// Two lower-case hex digits per byte.
std::string HexEncode(std::string_view bytes);

// The bytes `hex` spells (upper- or lower-case digits, two per byte);
// nullopt for an odd length or any other character.
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace daicho::core

#endif  // DAICHO_CORE_HEX_H_
