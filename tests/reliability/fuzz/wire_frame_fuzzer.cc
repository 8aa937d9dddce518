// Wire frames: sync::DecodeFrame on any bytes, with the default limits and
// with tight ones. A frame that decodes must encode to a frame that decodes
// to the same message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sync/wire_codec.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using daicho::sync::CodecLimits;
using daicho::sync::DecodeFrame;
using daicho::sync::EncodeFrame;

void RoundTrip(std::string_view frame, const CodecLimits& limits) {
  auto message = DecodeFrame(frame, limits);
  if (!message.ok()) return;
  auto again = DecodeFrame(EncodeFrame(*message), limits);
  daicho::fuzz::Check(again.ok(), "a decoded frame, encoded again, does not decode");
  daicho::fuzz::Check(*again == *message, "a decoded frame, encoded again, decodes to another message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  RoundTrip(frame, CodecLimits{});
  CodecLimits tight;
  tight.max_frame_bytes = 4096;
  tight.max_change_bytes = 512;
  tight.max_changes_per_batch = 4;
  tight.max_version_vector_entries = 4;
  tight.max_string_bytes = 16;
  RoundTrip(frame, tight);
  return 0;
}
