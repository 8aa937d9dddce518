// WireCodec: the one place that turns sync-protocol frames (net/proto/
// sync.proto) into C++ messages (net/messages.h) and back.
//
// Decoding treats its input as hostile: the size is checked before parsing,
// the parse result is checked, and every field is validated; nothing the
// peer sends can make it crash or allocate beyond the limits.
// Errors from DecodeFrame: kResourceExhausted (a size or count limit),
// kProtocolError (not a frame, or a field breaking the rules). Encoding
// never fails. Free functions on values: thread-safe.
#ifndef DAICHO_NET_WIRE_CODEC_H_
#define DAICHO_NET_WIRE_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "daicho/status.h"
#include "net/messages.h"

namespace daicho::net {

// Limits on what a decoded frame may contain. Both sides should use the
// same values: the sender trims its batches to them too.
struct CodecLimits {
  // Whole encoded frame (checked before parsing). Must exceed the largest
  // single change to be synced plus a little framing.
  size_t max_frame_bytes = 16u << 20;
  // Changes in one Changes frame (small changes in a 1 MiB batch).
  size_t max_changes_per_batch = 1u << 18;
  // Entries of one version vector (replicas ever seen by a contract).
  size_t max_version_vector_entries = 1u << 16;
  // Contract, user, password, device token, error message: each.
  size_t max_string_bytes = 1024;
};

// The frame carrying `message`.
std::string EncodeFrame(const Message& message);

// The message in `frame`, fully validated against `limits`.
Result<Message> DecodeFrame(std::string_view frame, const CodecLimits& limits = {});

}  // namespace daicho::net

#endif  // DAICHO_NET_WIRE_CODEC_H_
