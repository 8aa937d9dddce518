// LAN announcements (transport/lan_announcement.h). Input: one mode byte,
// then either a packet as it came off the network (bit 0 clear) or the
// plaintext of one, sealed here under the test office key so that the
// decoder behind the AEAD sees the mutations (bit 0 set). An announcement
// that decodes must encode to a packet that decodes to the same contents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/discovery_key.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "transport/lan_announcement.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

void CheckRoundTrip(const transport::Announcement& a) {
  auto packet = transport::EncodeAnnouncement(fuzz::TestKeyRing(), fuzz::kContract, a);
  if (!packet.ok()) {
    Check(packet.status().code() == Code::kResourceExhausted, "a decoded announcement cannot be encoded");
    return;
  }
  auto b = transport::DecodeAnnouncement(fuzz::TestKeyRing(), fuzz::kContract, *packet);
  Check(b.ok(), "an encoded announcement does not decode");
  Check(b->replica_id == a.replica_id && b->device_name == a.device_name && b->sync_port == a.sync_port &&
            b->unix_ms == a.unix_ms && b->version_vector == a.version_vector,
        "an announcement encoded and decoded again changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string packet;
  if (data[0] & 1) {
    auto sealed = crypto::SealAnnouncement(fuzz::TestKeyRing(), fuzz::kContract, std::string(rest));
    if (!sealed.ok()) {
      Check(sealed.status().code() == Code::kResourceExhausted, "sealing a plaintext failed");
      return 0;
    }
    packet = *std::move(sealed);
  } else {
    packet = std::string(rest);
  }
  std::string nonce;
  auto decoded = transport::DecodeAnnouncement(fuzz::TestKeyRing(), fuzz::kContract, packet, &nonce);
  if (decoded.ok()) CheckRoundTrip(*decoded);
  return 0;
}
