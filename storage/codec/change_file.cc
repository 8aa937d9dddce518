// Change file format (little-endian), documented in docs/formats.md:
//   "DAICHOCF" | u32 version=2 | u8 contract_len | contract | u32 key_id
//   per change: origin[16] | u64 seq | u32 payload_len | payload
//   "DCFEND!!" | u64 change_count | u64 fnv1a64(all bytes before this trailer)
// Version 1 had no contract and key id.
#include "storage/codec/change_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "storage/codec/binary.h"

namespace daicho::storage {
namespace {

constexpr char kMagic[8] = {'D', 'A', 'I', 'C', 'H', 'O', 'C', 'F'};
constexpr char kTrailerMagic[8] = {'D', 'C', 'F', 'E', 'N', 'D', '!', '!'};
constexpr uint32_t kVersion1 = 1;
constexpr size_t kPrefixSize = 12;  // magic, version
constexpr size_t kTrailerSize = 24;
constexpr size_t kEntryHeaderSize = 16 + 8 + 4;

template <typename T>
void PutLe(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

template <typename T>
T GetLe(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

Status WriteChangeFile(const std::string& path, const ChangeFileHeader& header, std::span<const ChangeBlob> changes) {
  if (header.contract.size() > kMaxChangeFileContractBytes) {
    return InvalidArgument("contract number too long for a change file");
  }
  std::string out(kMagic, sizeof kMagic);
  PutLe<uint32_t>(out, kChangeFileVersion);
  out += static_cast<char>(header.contract.size());
  out += header.contract;
  PutLe<uint32_t>(out, header.key_id);
  for (const ChangeBlob& c : changes) {
    if (c.payload.size() > UINT32_MAX) return InvalidArgument("change payload too large for a change file");
    out.append(c.origin.AsStringView());
    PutLe<uint64_t>(out, c.seq);
    PutLe<uint32_t>(out, static_cast<uint32_t>(c.payload.size()));
    out += c.payload;
  }
  const uint64_t checksum = Fnv1a64().Update(out).value();
  out.append(kTrailerMagic, sizeof kTrailerMagic);
  PutLe<uint64_t>(out, changes.size());
  PutLe<uint64_t>(out, checksum);

  // Write beside the target and rename, so a full disk or a pulled USB stick
  // never leaves a half-written file under the final name.
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return IoError("cannot create " + tmp + ": " + std::strerror(errno));
  const bool wrote = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  const int write_errno = errno;
  const bool flushed = std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!wrote || !flushed) {
    std::remove(tmp.c_str());
    return IoError("cannot write " + path + ": " + std::strerror(wrote ? errno : write_errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return IoError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<ChangeFileContents> ReadChangeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open change file " + path + ": " + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return IoError("cannot read " + path);
  auto bad = [&](const std::string& why) { return Corruption("change file " + path + ": " + why); };
  if (data.size() < kPrefixSize + kTrailerSize || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    return bad("not a daicho change file");
  }
  ChangeFileContents file;
  file.header.version = GetLe<uint32_t>(data.data() + 8);
  if (file.header.version != kVersion1 && file.header.version != kChangeFileVersion) {
    return bad("unsupported version " + std::to_string(file.header.version) +
               " (written by a newer daicho: update this PC's daicho)");
  }
  const size_t body_end = data.size() - kTrailerSize;
  const char* trailer = data.data() + body_end;
  if (std::memcmp(trailer, kTrailerMagic, sizeof kTrailerMagic) != 0) return bad("truncated (no end marker)");
  const uint64_t count = GetLe<uint64_t>(trailer + 8);
  const uint64_t checksum = GetLe<uint64_t>(trailer + 16);
  if (Fnv1a64().Update(std::string_view(data.data(), body_end)).value() != checksum)
    return bad("checksum mismatch (damaged)");

  size_t pos = kPrefixSize;
  if (file.header.version == kChangeFileVersion) {
    if (body_end - pos < 1) return bad("truncated header");
    const size_t contract_len = static_cast<unsigned char>(data[pos]);
    ++pos;
    if (contract_len > kMaxChangeFileContractBytes) return bad("contract number too long");
    if (body_end - pos < contract_len + 4) return bad("truncated header");
    file.header.contract.assign(data.data() + pos, contract_len);
    file.header.key_id = GetLe<uint32_t>(data.data() + pos + contract_len);
    pos += contract_len + 4;
  }
  std::vector<ChangeBlob>& changes = file.changes;
  while (pos < body_end) {
    if (body_end - pos < kEntryHeaderSize) return bad("truncated entry header");
    ChangeBlob blob;
    auto id = ReplicaId::FromBytes(std::string_view(data.data() + pos, 16));
    blob.origin = *id;
    blob.seq = GetLe<uint64_t>(data.data() + pos + 16);
    const uint32_t len = GetLe<uint32_t>(data.data() + pos + 24);
    pos += kEntryHeaderSize;
    if (body_end - pos < len) return bad("truncated entry payload");
    blob.payload.assign(data.data() + pos, len);
    pos += len;
    changes.push_back(std::move(blob));
  }
  if (changes.size() != count) {
    return bad("holds " + std::to_string(changes.size()) + " changes, trailer says " + std::to_string(count));
  }
  return file;
}

}  // namespace daicho::storage
