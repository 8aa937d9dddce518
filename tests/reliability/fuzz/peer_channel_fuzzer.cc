// The PC-to-PC peer channel (crypto/peer_channel.h) and what it carries.
//
// Input: one mode byte, then chunks (fuzz_support.h):
//   mode 0: an acceptor is fed chunk 0 as the initiator's hello (M1) and
//           chunk 1 as its confirmation (M3); later chunks as frames;
//   mode 1: an initiator is fed chunk 0 as the acceptor's reply (M2); later
//           chunks as frames;
//   mode 2: two channels under the test office key finish the handshake;
//           each chunk is sealed by the initiator and opened by the acceptor
//           (it must come out unchanged), then goes as a sync frame to a
//           SyncSession acceptor, as peer sync does; what the session answers
//           goes back the same way;
//   mode 3: two established channels; chunks are fed to Open as they are.
// A channel that failed must refuse every later call.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/peer_channel.h"
#include "sync/replica_change_store.h"
#include "sync/sync_session.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using namespace daicho;
using crypto::PeerChannel;
using daicho::fuzz::Check;

void FeedFrames(PeerChannel& channel, const std::vector<std::string_view>& chunks, size_t first) {
  for (size_t i = first; i < chunks.size(); ++i) {
    const bool was_failed = channel.failed();
    auto opened = channel.Open(chunks[i]);
    if (was_failed) Check(!opened.ok(), "a failed channel opened a frame");
    if (!opened.ok()) Check(channel.failed(), "a frame that did not open left the channel alive");
  }
}

void Establish(PeerChannel& initiator, PeerChannel& acceptor) {
  auto m1 = initiator.Start();
  fuzz::CheckOk(m1.status(), "M1");
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  fuzz::CheckOk(m2.status(), "M2");
  auto m3 = initiator.OnHandshakeMessage(**m2);
  fuzz::CheckOk(m3.status(), "M3");
  auto done = acceptor.OnHandshakeMessage(**m3);
  fuzz::CheckOk(done.status(), "M3 accepted");
  Check(initiator.established() && acceptor.established(), "the handshake under one key did not establish");
}

void SealedSync(const std::vector<std::string_view>& chunks) {
  PeerChannel initiator(PeerChannel::Role::kInitiator, fuzz::kContract, fuzz::TestKeyRing());
  PeerChannel acceptor(PeerChannel::Role::kAcceptor, fuzz::kContract, fuzz::TestKeyRing());
  Establish(initiator, acceptor);
  fuzz::ScratchReplica replica;
  fuzz::CheckOk(replica->Apply(fuzz::FixtureBlobs()).status(), "fixture ledger");
  sync::ReplicaChangeStore store(*replica);
  sync::SessionOptions options;
  options.role = sync::SessionRole::kAcceptor;
  options.max_batch_bytes = 256;
  sync::SyncSession session(store, options, replica->id());
  for (std::string_view chunk : chunks) {
    auto sealed = initiator.Seal(chunk);
    fuzz::CheckOk(sealed.status(), "sealing a frame");
    auto opened = acceptor.Open(*sealed);
    fuzz::CheckOk(opened.status(), "opening a sealed frame");
    Check(*opened == chunk, "a frame came out of the channel changed");
    if (session.state() == sync::SessionState::kFailed) break;
    auto replies = session.OnFrame(*opened);
    if (!replies.ok()) break;
    for (const std::string& reply : *replies) {
      auto back = acceptor.Seal(reply);
      fuzz::CheckOk(back.status(), "sealing a reply");
      auto got = initiator.Open(*back);
      fuzz::CheckOk(got.status(), "opening a reply");
      Check(*got == reply, "a reply came out of the channel changed");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] & 3;
  const std::vector<std::string_view> chunks =
      fuzz::SplitChunks(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  const crypto::KeyRing& ring = fuzz::TestKeyRing();
  switch (mode) {
    case 0: {
      PeerChannel acceptor(PeerChannel::Role::kAcceptor, fuzz::kContract, ring);
      for (size_t i = 0; i < chunks.size() && i < 2; ++i) {
        if (acceptor.failed()) break;
        (void)acceptor.OnHandshakeMessage(chunks[i]);
      }
      FeedFrames(acceptor, chunks, 2);
      break;
    }
    case 1: {
      PeerChannel initiator(PeerChannel::Role::kInitiator, fuzz::kContract, ring);
      fuzz::CheckOk(initiator.Start().status(), "M1");
      if (!chunks.empty()) (void)initiator.OnHandshakeMessage(chunks[0]);
      FeedFrames(initiator, chunks, 1);
      break;
    }
    case 2:
      SealedSync(chunks);
      break;
    case 3: {
      PeerChannel initiator(PeerChannel::Role::kInitiator, fuzz::kContract, ring);
      PeerChannel acceptor(PeerChannel::Role::kAcceptor, fuzz::kContract, ring);
      Establish(initiator, acceptor);
      FeedFrames(acceptor, chunks, 0);
      break;
    }
  }
  return 0;
}
