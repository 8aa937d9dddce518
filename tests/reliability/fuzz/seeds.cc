// fuzz_seeds DIR: writes the seed corpus of every target under
// DIR/<target>/, each input made by the real encoders (frames, sealed
// packets, handshake messages, change payloads, record states, change
// files, CSV exports with version tokens, requests of the panel's pages and
// API). run.sh --seeds runs it into tests/reliability/fuzz/corpus/.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apps/daicho/csv_ledger.h"
#include "core/change_builder.h"
#include "crypto/discovery_key.h"
#include "crypto/peer_channel.h"
#include "crypto/sealed_change.h"
#include "storage/codec/change_codec.h"
#include "storage/codec/change_file.h"
#include "storage/codec/state_codec.h"
#include "storage/codec/version_vector_codec.h"
#include "sync/wire_codec.h"
#include "tests/core/memory_replica.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "tests/testing/memory_replica_dictionary.h"
#include "text/csv.h"
#include "transport/lan_announcement.h"

namespace {

using namespace daicho;
using fuzz::FixedId;
using fuzz::JoinChunks;

std::string g_root;

void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = std::filesystem::path(g_root) / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fuzz::Fail("cannot write a seed of " + target);
}

std::string Mode(uint8_t mode, const std::string& rest) { return std::string(1, static_cast<char>(mode)) + rest; }

VersionVector FixtureVv() {
  VersionVector vv;
  for (const ChangeBlob& b : fuzz::FixtureBlobs()) vv.Advance(b.origin, b.seq);
  return vv;
}

// ---- Frames ----

std::vector<std::pair<std::string, sync::Message>> Messages() {
  std::vector<std::pair<std::string, sync::Message>> out;
  sync::Hello hello;
  hello.replica_id = FixedId(9);
  hello.version_vector = FixtureVv();
  hello.contract = fuzz::kContract;
  hello.user = "fuzz@example.jp";
  hello.credentials = sync::PasswordCredential{"Fuzz2024office"};
  hello.device_name = "reception PC";
  hello.max_change_bytes = 1 << 20;
  hello.unsynced_records = 3;
  out.emplace_back("hello-password", hello);
  sync::Hello device = hello;
  device.credentials = sync::DeviceTokenCredential{"fuzz-device-token"};
  device.device_name.clear();
  device.purpose = sync::Purpose::kWatch;
  out.emplace_back("hello-device", device);
  sync::Hello peer;
  peer.replica_id = FixedId(8);
  peer.relay_holds = FixtureVv();
  out.emplace_back("hello-peer", peer);
  sync::Hello publish = hello;
  publish.purpose = sync::Purpose::kPublishKeys;
  publish.publish_keys = crypto::WrappedOfficeKey{2, std::string(72, 'p'), std::string(72, 'r'), std::string(40, 's')};
  publish.replaces_key_id = 1;
  out.emplace_back("hello-publish", publish);
  sync::Welcome welcome;
  welcome.replica_id = FixedId(10);
  welcome.version_vector = FixtureVv();
  welcome.device_token = "fuzz-device-token";
  welcome.office_keys = publish.publish_keys;
  welcome.max_change_bytes = 1 << 20;
  welcome.entitlements.managed = true;
  welcome.entitlements.evaluated_ms = 1704067200000;
  welcome.entitlements.valid_until_ms = 1735689600000;
  welcome.entitlements.backup =
      sync::OptionEntitlement{sync::OptionState::kRefused, 3, 33000, "申請が3件不足", "3 filings short"};
  welcome.entitlements.billing.state = sync::OptionState::kPaid;
  out.emplace_back("welcome", welcome);
  sync::Welcome refused = welcome;
  refused.uploads_refused = true;
  out.emplace_back("welcome-refused", refused);
  sync::ChangesBatch batch;
  batch.batch_id = 1;
  batch.changes = fuzz::FixtureBlobs();
  out.emplace_back("changes", batch);
  sync::ChangePart part;
  part.batch_id = 2;
  part.origin = FixedId(3);
  part.seq = 1;
  const std::string& payload = fuzz::FixtureBlobs()[0].payload;
  part.total_bytes = payload.size();
  part.offset = 0;
  part.data = payload.substr(0, payload.size() / 2);
  out.emplace_back("change-part", part);
  out.emplace_back("ack", sync::Ack{1, FixtureVv()});
  out.emplace_back("error",
                   sync::ErrorMessage{Code::kUnauthenticated, "wrong password", sync::ErrorReason::kLoginRevoked});
  return out;
}

std::string Frame(const sync::Message& m) { return sync::EncodeFrame(m); }

// Changes of origin FixedId(3), written after it received the fixture.
std::vector<ChangeBlob> ThirdPcBlobs() {
  core::testing::MemoryReplica c(FixedId(3), core::testing::kTestEpochMs + 9000);
  for (const core::Change& change : fuzz::FixtureChanges()) c.Receive(change);
  core::ChangeBuilder w;
  w.Set("customers", "c1", "name", Value("Tanaka (third PC)"));
  w.Add("customers", "c1", "filings", 10);
  w.SetRemove("customers", "c1", "trades", "electric");
  w.Undelete("customers", "c2");
  c.Commit(w);
  w.Set("customers", "c4", "name", Value("Sato"));
  w.Set("customers", "c1", "trades", Value("all"));  // the set's name reused as a register
  c.Commit(w);
  std::vector<ChangeBlob> out;
  for (const core::Change& change : c.log()) {
    if (change.origin == FixedId(3))
      out.push_back(ChangeBlob{change.origin, change.seq, storage::EncodeChangePayload(change)});
  }
  return out;
}

void WireFrame() {
  for (const auto& [name, m] : Messages()) Put("wire_frame", name, Frame(m));
}

void SyncHandshake() {
  const auto messages = Messages();
  std::map<std::string, std::string> f;
  for (const auto& [name, m] : messages) f[name] = Frame(m);
  sync::ChangesBatch third;
  third.batch_id = 1;
  third.changes = ThirdPcBlobs();
  const std::string third_frame = Frame(third);
  sync::Ack ack1{1, FixtureVv()};
  Put("sync_handshake", "acceptor-password", Mode(0x00, JoinChunks({f["hello-password"], third_frame, Frame(ack1)})));
  Put("sync_handshake", "acceptor-device", Mode(0x00, JoinChunks({f["hello-device"], Frame(ack1)})));
  Put("sync_handshake", "acceptor-peer-empty", Mode(0x10, JoinChunks({f["hello-peer"], f["changes"]})));
  Put("sync_handshake", "acceptor-refused", Mode(0x08, JoinChunks({f["hello-password"], third_frame})));
  Put("sync_handshake", "acceptor-publish", Mode(0x00, JoinChunks({f["hello-publish"]})));
  Put("sync_handshake", "initiator-sync", Mode(0x01, JoinChunks({f["welcome"], third_frame, Frame(ack1)})));
  Put("sync_handshake", "initiator-watch",
      Mode(0x03 | 0x10, JoinChunks({f["welcome"], f["changes"], f["change-part"]})));
  Put("sync_handshake", "initiator-refused", Mode(0x01, JoinChunks({f["welcome-refused"], f["ack"]})));
  Put("sync_handshake", "initiator-error", Mode(0x05, JoinChunks({f["error"]})));
}

void PeerChannel() {
  const crypto::KeyRing& ring = fuzz::TestKeyRing();
  crypto::PeerChannel a(crypto::PeerChannel::Role::kInitiator, fuzz::kContract, ring);
  crypto::PeerChannel b(crypto::PeerChannel::Role::kAcceptor, fuzz::kContract, ring);
  const std::string m1 = a.Start().value();
  const std::string m2 = **b.OnHandshakeMessage(m1);
  const std::string m3 = **a.OnHandshakeMessage(m2);
  (void)b.OnHandshakeMessage(m3);
  const std::string sealed = a.Seal(Frame(Messages()[2].second)).value();
  Put("peer_channel", "acceptor-m1", Mode(0, JoinChunks({m1, m3, sealed})));
  Put("peer_channel", "initiator-m2", Mode(1, JoinChunks({m2, sealed})));
  std::map<std::string, std::string> f;
  for (const auto& [name, m] : Messages()) f[name] = Frame(m);
  sync::ChangesBatch third;
  third.batch_id = 1;
  third.changes = ThirdPcBlobs();
  Put("peer_channel", "sealed-sync",
      Mode(2, JoinChunks({f["hello-peer"], Frame(third), Frame(sync::Ack{1, FixtureVv()})})));
  Put("peer_channel", "sealed-sync-parts", Mode(2, JoinChunks({f["hello-peer"], f["change-part"]})));
  Put("peer_channel", "open-garbage", Mode(3, JoinChunks({sealed})));
}

void LanAnnouncement() {
  const crypto::KeyRing& ring = fuzz::TestKeyRing();
  transport::Announcement a;
  a.replica_id = FixedId(5);
  a.device_name = "受付PC";
  a.sync_port = 47480;
  a.unix_ms = 1704067200000;
  a.version_vector = FixtureVv();
  transport::Announcement looking;
  looking.replica_id = FixedId(6);
  looking.device_name = "laptop";
  int n = 0;
  for (const transport::Announcement& x : {a, looking}) {
    const std::string packet = transport::EncodeAnnouncement(ring, fuzz::kContract, x).value();
    Put("lan_announcement", "packet-" + std::to_string(n), Mode(0, packet));
    const std::string plain = crypto::OpenAnnouncement(ring, fuzz::kContract, packet).value();
    Put("lan_announcement", "plain-" + std::to_string(n), Mode(1, plain));
    ++n;
  }
}

void ChangeCodec() {
  int n = 0;
  for (const ChangeBlob& b : fuzz::FixtureBlobs()) Put("change_codec", "fixture-" + std::to_string(n++), b.payload);
  for (const ChangeBlob& b : ThirdPcBlobs()) Put("change_codec", "third-" + std::to_string(n++), b.payload);
}

void StateCodec() {
  core::testing::MemoryReplica r(FixedId(1), core::testing::kTestEpochMs);
  for (const core::Change& c : fuzz::FixtureChanges()) r.Receive(c);
  testing::MemoryReplicaDictionary dict({FixedId(1), FixedId(2), FixedId(3), FixedId(4)});
  int n = 0;
  for (const auto& [key, state] : r.records()) {
    Put("state_codec", "state-" + std::to_string(n++), storage::EncodeRecordState(state, dict).value());
  }
  Put("state_codec", "vv", storage::EncodeVersionVector(FixtureVv()));
}

std::string ApplyChunk(uint8_t control, const std::string& payload) {
  return std::string(1, static_cast<char>(control)) + payload;
}

void ChangeApply() {
  std::vector<std::string> fixture, sealed_fixture, third, sealed_third;
  for (const ChangeBlob& b : fuzz::FixtureBlobs()) {
    const uint8_t origin = b.origin == FixedId(1) ? 0 : 1;
    fixture.push_back(ApplyChunk(origin, b.payload));
    sealed_fixture.push_back(ApplyChunk(origin | 16, b.payload));
  }
  for (const ChangeBlob& b : ThirdPcBlobs()) {
    third.push_back(ApplyChunk(2, b.payload));
    sealed_third.push_back(ApplyChunk(2 | 16, b.payload));
  }
  Put("change_apply", "fixture-on-empty", Mode(1, JoinChunks(fixture)));
  Put("change_apply", "fixture-sealed-on-empty", Mode(1, JoinChunks(sealed_fixture)));
  Put("change_apply", "third-pc", Mode(0, JoinChunks(third)));
  Put("change_apply", "third-pc-sealed", Mode(0, JoinChunks(sealed_third)));
  std::vector<std::string> dup = third;
  dup.push_back(ApplyChunk(2 | 4 | 8, ThirdPcBlobs().back().payload));
  Put("change_apply", "third-pc-duplicate", Mode(0, JoinChunks(dup)));
}

std::string CellText(const FieldView& f) {
  switch (f.kind) {
    case FieldKind::kSet:
      return cli::SetCellText(f.elements);
    case FieldKind::kCounter:
      return std::to_string(f.value.as_int());
    case FieldKind::kRegister:
      if (f.value.is_string()) return f.value.as_string();
      if (f.value.type() == Value::Type::kInt) return std::to_string(f.value.as_int());
      return "";
  }
  return "";
}

void CsvImport() {
  fuzz::ScratchReplica replica;
  fuzz::CheckOk(replica->Apply(fuzz::FixtureBlobs()).status(), "fixture ledger");
  const VersionVector seen = replica->GetVersionVector().value();
  const Page page = replica->List("customers", ListOptions{.limit = 0, .include_deleted = false}).value();
  std::set<std::pair<std::string, FieldKind>> kinds;
  for (const Record& r : page.records) {
    for (const FieldView& f : r.fields) kinds.emplace(f.name, f.kind);
  }
  std::vector<cli::CsvColumn> columns;
  std::vector<std::string> header = {"id"};
  for (const auto& [name, kind] : kinds) {
    columns.push_back({name, kind});
    header.push_back(cli::ColumnHeader(columns.back()));
  }
  header.emplace_back(cli::kVersionColumn);
  std::string exported = text::FormatCsvRow(header);
  std::string edited = exported;
  std::string untokened = text::FormatCsvRow(std::vector<std::string>(header.begin(), header.end() - 1));
  for (const Record& r : page.records) {
    const RecordContext context = replica->GetRecordContext("customers", r.id).value();
    std::vector<std::string> cells = {r.id};
    for (const cli::CsvColumn& column : columns) {
      const FieldView* f = r.Find(column.field);
      cells.push_back(f == nullptr || f->kind != column.kind ? std::string() : CellText(*f));
    }
    const std::string token = cli::EncodeRowToken(cli::MakeRowToken(r, context, replica->id(), seen));
    std::vector<std::string> row = cells;
    row.push_back(token);
    exported += text::FormatCsvRow(row);
    std::vector<std::string> changed = cells;
    for (size_t i = 1; i < changed.size(); ++i) {
      if (columns[i - 1].kind == FieldKind::kCounter) changed[i] = "7";
      if (columns[i - 1].kind == FieldKind::kSet) changed[i] = "plumbing;roofing\\;tiles";
      if (columns[i - 1].kind == FieldKind::kRegister && !changed[i].empty()) changed[i] += " (edited)";
    }
    untokened += text::FormatCsvRow(changed);
    changed.push_back(token);
    edited += text::FormatCsvRow(changed);
  }
  Put("csv_import", "export", Mode(0, exported));
  Put("csv_import", "export-edited", Mode(1, edited));
  Put("csv_import", "no-tokens", Mode(0, untokened + "c9,,,,,\r\n"));
  // 顧客 and 名前 in Shift_JIS, as Excel on a Japanese Windows saves.
  Put("csv_import", "cp932", Mode(2, "id,\x96\xbc\x91\x4f\r\nc1,\x8c\xda\x8b\x71\r\n"));
  Put("csv_import", "bom-quoted",
      Mode(0, "\xEF\xBB\xBFid,note,count#,tags[]\r\n\"c1\",\"a \"\"quoted\"\"\r\nline\",3,x;y\r\n"));
}

void ChangeFile() {
  const std::string path = fuzz::ScratchDir() + "/seed.daicho";
  auto read = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::vector<ChangeBlob> blobs = fuzz::FixtureBlobs();
  for (const ChangeBlob& b : ThirdPcBlobs()) blobs.push_back(b);
  storage::ChangeFileHeader clear;
  clear.contract = "";
  clear.key_id = 0;
  fuzz::CheckOk(storage::WriteChangeFile(path, clear, blobs), "writing a change file");
  Put("change_file", "clear", Mode(0, read()));
  Put("change_file", "clear-checksummed", Mode(2, read()));
  Put("change_file", "to-seal", Mode(3, read()));
  std::vector<ChangeBlob> third = ThirdPcBlobs();
  for (ChangeBlob& b : third) {
    b.payload =
        crypto::SealChange(fuzz::TestKeyRing(), crypto::ChangeAddress{fuzz::kContract, b.origin, b.seq}, b.payload)
            .value();
  }
  storage::ChangeFileHeader sealed;
  sealed.contract = fuzz::kContract;
  sealed.key_id = 1;
  fuzz::CheckOk(storage::WriteChangeFile(path, sealed, third), "writing a sealed change file");
  Put("change_file", "sealed", Mode(2, read()));
}

void AdminHttp() {
  const std::string json = "content-type: application/json\n";
  const std::string form = "content-type: application/x-www-form-urlencoded\n";
  auto put = [](const std::string& name, uint8_t flags, const std::string& request) {
    Put("admin_http", name, Mode(flags, request));
  };
  put("login-page", 0, "GET /admin/login\naccept-language: en\n\n");
  put("login-api", 0,
      "POST /api/v1/login\n" + json +
          "\n{\"contract\":\"1234-5678-9012\",\"user\":\"yamada@example.jp\",\"password\":\"Wrong2024pass\"}");
  put("login-form", 4,
      "POST /admin/login\n" + form +
          "cookie: daicho_csrf=00ff\norigin: https://relay.example.jp\n\n"
          "csrf=00ff&contract=1234-5678-9012&user=yamada%40example.jp&password=Wrong2024pass");
  put("reset", 0, "POST /api/v1/reset\n" + json + "\n{\"contract\":\"1234-5678-9012\",\"user\":\"yamada@example.jp\"}");
  put("reset-confirm", 0,
      "POST /api/v1/reset/confirm\n" + json +
          "\n{\"contract\":\"1234-5678-9012\",\"user\":\"clerk@example.jp\",\"code\":\"12345678\","
          "\"password\":\"Clerk2025office\"}");
  for (const char* page : {"/admin/", "/admin/users", "/admin/devices", "/admin/audit", "/admin/licence", "/admin/key",
                           "/admin/me", "/admin/users/new", "/admin/user/clerk%40example.jp"}) {
    std::string name = std::string("page") + std::string(page).substr(6);
    for (char& c : name) {
      if (c == '/' || c == '%') c = '-';
    }
    put(name, 1, std::string("GET ") + page + "\naccept-language: ja\n\n");
  }
  put("form-add-user", 1,
      "POST /admin/users/new\n" + form + "\ncsrf={csrf}&user=new%40example.jp&password=Newuser2024pass");
  put("form-disable", 1, "POST /admin/user/disable\n" + form + "\ncsrf={csrf}&user=clerk%40example.jp");
  put("form-free-option", 1, "POST /admin/licence/free-option\n" + form + "\ncsrf={csrf}&option=billing");
  put("form-revoke", 1,
      "POST /admin/devices/revoke\n" + form + "\ncsrf={csrf}&user=clerk%40example.jp&device=0123abcd");
  put("api-users", 2, "GET /api/v1/users\n\n");
  put("api-add-user", 2,
      "POST /api/v1/users\n" + json + "\n{\"user\":\"x@example.jp\",\"password\":\"Xuser2024pass\"}");
  put("api-user-admin", 2, "POST /api/v1/users/admin\n" + json + "\n{\"user\":\"clerk@example.jp\"}");
  put("api-audit", 2, "GET /api/v1/audit?before=99999999999999&limit=5\n\n");
  put("api-devices", 2, "GET /api/v1/devices\n\n");
  put("api-entitlements", 2, "GET /api/v1/entitlements\n\n");
  put("api-key", 2, "GET /api/v1/key\n\n");
  put("api-me-password", 2,
      "POST /api/v1/me/password\n" + json + "\n{\"current\":\"Wrong2024pass\",\"password\":\"Other2024pass\"}");
  put("vendor-contracts", 3, "GET /api/v1/vendor/contracts\n\n");
  put("vendor-entitlements", 3, "GET /api/v1/vendor/contracts/1234-5678-9012/entitlements\n\n");
  put("vendor-licence", 3,
      "PUT /api/v1/vendor/contracts/1234-5678-9012/licence\n" + json +
          "\n{\"installed\":\"2024-04-01\",\"licences\":2,\"options\":[\"backup\",\"billing\"]}");
  put("vendor-payment", 3,
      "POST /api/v1/vendor/contracts/1234-5678-9012/payments\n" + json +
          "\n{\"option\":\"backup\",\"amount_yen\":11000,\"licence_year\":\"2024-04-01\","
          "\"reference\":\"INV-1\",\"note\":\"\"}");
  put("vendor-filings", 3,
      "POST /api/v1/vendor/filings?encoding=auto&dry_run=1\ncontent-type: text/csv\n\n"
      "contract,company_id,filed_on,filing_id\r\n1234-5678-9012,C-1,2024-05-01,F-1\r\n"
      "1234-5678-9012,C-2,令和6年5月2日,\r\n");
  put("vendor-page", 3, "GET /admin/vendor/contract?contract=1234-5678-9012\n\n");
  put("not-found", 2, "DELETE /api/v1/users/x\n\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  g_root = argv[1];
  WireFrame();
  SyncHandshake();
  PeerChannel();
  LanAnnouncement();
  ChangeCodec();
  StateCodec();
  ChangeApply();
  CsvImport();
  ChangeFile();
  AdminHttp();
  return 0;
}
