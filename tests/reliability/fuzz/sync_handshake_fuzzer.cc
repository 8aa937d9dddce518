// The sync handshake and session: a SyncSession, acceptor (a PC being synced
// with, or a relay checking a login) or initiator, fed the input's chunks as
// frames, over a fresh replica holding the fixture ledger. Every frame the
// session sends must itself decode, and a failed session says why.
//
// Input: one mode byte (bit 0: initiator; bits 1-2: its purpose; bit 3: the
// acceptor refuses uploads; bit 4: the replica starts empty), then frames as
// chunks (fuzz_support.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sync/replica_change_store.h"
#include "sync/sync_session.h"
#include "sync/wire_codec.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

constexpr char kUser[] = "fuzz@example.jp";
constexpr char kPassword[] = "Fuzz2024office";
constexpr char kDeviceToken[] = "fuzz-device-token";

void CheckSent(const Result<std::vector<std::string>>& frames) {
  if (!frames.ok()) return;
  for (const std::string& frame : *frames) {
    auto decoded = sync::DecodeFrame(frame);
    if (!decoded.ok()) fuzz::Fail("the session sent a frame that does not decode: " + decoded.status().ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  fuzz::ScratchReplica replica;
  if ((mode & 0x10) == 0) fuzz::CheckOk(replica->Apply(fuzz::FixtureBlobs()).status(), "fixture ledger");
  sync::ReplicaChangeStore store(*replica);

  sync::SessionOptions options;
  options.role = (mode & 1) ? sync::SessionRole::kInitiator : sync::SessionRole::kAcceptor;
  // Small batches: the fixture ledger spans several, so acks matter.
  options.max_batch_bytes = 256;
  options.max_in_flight_batches = 2;
  options.purpose = static_cast<sync::Purpose>(1 + ((mode >> 1) & 3));
  options.contract = fuzz::kContract;
  options.user = kUser;
  options.credentials = sync::PasswordCredential{kPassword};
  // What a `key publish` sends (its Hello must carry a key to publish).
  options.publish_keys = crypto::WrappedOfficeKey{1, std::string(72, 'p'), std::string(72, 'r'), std::string()};
  const bool refuse_uploads = (mode & 0x08) != 0;
  options.authenticate = [&](const sync::Hello& hello) -> Result<sync::Admission> {
    sync::Admission admission;
    admission.uploads_refused = refuse_uploads;
    if (std::holds_alternative<std::monostate>(hello.credentials)) return admission;  // PC to PC
    if (hello.user != kUser) return Unauthenticated("unknown user");
    if (const auto* p = std::get_if<sync::PasswordCredential>(&hello.credentials)) {
      if (p->password != kPassword) return Unauthenticated("wrong password");
      if (!hello.device_name.empty()) admission.device_token = kDeviceToken;
      return admission;
    }
    const auto& token = std::get<sync::DeviceTokenCredential>(hello.credentials);
    if (token.token != kDeviceToken) return Unauthenticated("unknown device token");
    return admission;
  };
  sync::SyncSession session(store, options, replica->id());
  if (options.role == sync::SessionRole::kInitiator) CheckSent(session.Start());

  for (std::string_view frame : fuzz::SplitChunks(rest)) {
    if (session.state() == sync::SessionState::kFailed) {
      Check(!session.OnFrame(frame).ok(), "a failed session took another frame");
      break;
    }
    CheckSent(session.OnFrame(frame));
    if (session.state() == sync::SessionState::kOpen) CheckSent(session.OnLocalCommit());
  }
  Check((session.state() == sync::SessionState::kFailed) == !session.status().ok(),
        "a session failed without saying why, or said why without failing");
  (void)session.InSync();
  return 0;
}
