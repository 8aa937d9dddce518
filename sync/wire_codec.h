// WireCodec: the one place that turns sync-protocol frames (sync/proto/
// sync.proto) into C++ messages (sync/messages.h) and back.
//
// Decoding treats its input as hostile: the size is checked before parsing,
// the parse result is checked, and every field is validated; nothing the
// peer sends can make it crash or allocate beyond the limits.
// Errors from DecodeFrame: kResourceExhausted (a size or count limit),
// kProtocolError (not a frame, or a field breaking the rules). Encoding
// never fails. Free functions on values: thread-safe.
#ifndef DAICHO_SYNC_WIRE_CODEC_H_
#define DAICHO_SYNC_WIRE_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/sealed_change.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "sync/messages.h"

namespace daicho::sync {

// The largest change payload sync carries: a replica's largest change
// (Limits::max_change_bytes), sealed for the relay.
inline constexpr size_t kMaxWireChangeBytes = Limits{}.max_change_bytes + crypto::kSealOverheadBytes;

// Limits on what a decoded frame may contain. Both sides should use the
// same values: the sender trims its batches to them too.
struct CodecLimits {
  // Whole encoded frame (checked before parsing). A change that does not
  // fit one goes in ChangePart frames.
  size_t max_frame_bytes = 16u << 20;
  // One change payload, in one frame or in parts (the most a receiver holds
  // of a change in pieces). Announced in Hello/Welcome.
  size_t max_change_bytes = kMaxWireChangeBytes;
  // Changes in one Changes frame (small changes in a 1 MiB batch).
  size_t max_changes_per_batch = 1u << 18;
  // Entries of one version vector (replicas ever seen by a contract).
  size_t max_version_vector_entries = 1u << 16;
  // Contract, user, password, device token, error message: each.
  size_t max_string_bytes = 1024;
};

// Every change a commit makes (Limits::max_commit_bytes), sealed and framed
// as a Changes batch of one, fits one frame: any peer, also one that takes
// no ChangePart, can receive it. 1 KiB covers the framing (about 60 bytes).
static_assert(Limits{}.max_commit_bytes + crypto::kSealOverheadBytes + 1024 <= CodecLimits{}.max_frame_bytes);

// The frame carrying `message`.
std::string EncodeFrame(const Message& message);

// The message in `frame`, fully validated against `limits`.
Result<Message> DecodeFrame(std::string_view frame, const CodecLimits& limits = {});

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_WIRE_CODEC_H_
