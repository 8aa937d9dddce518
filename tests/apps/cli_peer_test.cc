// End-to-end tests of direct PC-to-PC (office LAN) sync with the real
// binaries: `daicho serve`, `peers`, `sync --peer URL`, `sync --peers
// [--watch]`, `key unlock --peer URL`, `key export` / `key import`
// (DAICHO_CLI_PATH), and a `daicho-relay serve` child process
// (DAICHO_RELAY_PATH) for the office's first PC. Everything stays on
// loopback: servers listen on 127.0.0.1 port 0 (the printed port is parsed),
// announcements go over 127.0.0.1 on a UDP port of each test's own, so
// parallel ctest runs do not hear each other.
//
// Every office passphrase operation costs Argon2id time (~0.5-1 s): the tests
// use as few as they can.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_harness.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/test_util.h"

namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

using daicho::testing::Child;
using daicho::testing::CliTest;
using daicho::testing::Contains;
using daicho::testing::kDeadline;
using daicho::testing::ListeningProcess;
using daicho::testing::ReadFile;
using daicho::testing::RelayProcess;
using daicho::testing::RunResult;
using daicho::testing::WaitFor;
using daicho::testing::WriteFile;

constexpr char kContract[] = "1234-5678-9012";
constexpr char kOtherContract[] = "9999-0000-1111";
constexpr char kUser[] = "yamada@example.jp";
constexpr char kOtherUser[] = "other@example.jp";
constexpr char kPassword[] = "Yamada2024";
constexpr char kOtherPassword[] = "Other2024";
constexpr char kPassphrase[] = "山田事務所 passphrase one";
constexpr char kOtherPassphrase[] = "another office's passphrase";
constexpr char kWrongPassphrase[] = "not the office passphrase";

// A free UDP port on this host (for this test's announcements).
int FreeUdpPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// `daicho serve`, ready once it printed "serving on 127.0.0.1:PORT".
class Server {
 public:
  Server(const std::vector<std::string>& args, const std::string& log_prefix)
      : process_(DAICHO_CLI_PATH, args, {log_prefix + ".out", log_prefix + ".err"},
                 "serving on 127\\.0\\.0\\.1:([0-9]+)\n") {}
  int port() const { return process_.port(); }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port()) + "/"; }
  // SIGTERM; it must stop cleanly (exit 0, "stopped").
  void Stop() { process_.Stop(); }
  Child& child() { return process_.child(); }

 private:
  ListeningProcess process_;
};

class CliPeerTest : public CliTest {
 protected:
  void SetUp() override {
    WriteFile(password_file_, std::string(kPassword) + "\n");
    WriteFile(other_password_file_, std::string(kOtherPassword) + "\n");
    WriteFile(passphrase_file_, std::string(kPassphrase) + "\n");
    WriteFile(other_passphrase_file_, std::string(kOtherPassphrase) + "\n");
    WriteFile(wrong_passphrase_file_, std::string(kWrongPassphrase) + "\n");
    RelayAdmin({"init"});
    RelayAdmin({"contract", "add", kContract});
    RelayAdmin({"contract", "add", kOtherContract});
    RelayAdmin({"user", "add", kContract, kUser, "--password-file", password_file_});
    RelayAdmin({"user", "add", kOtherContract, kOtherUser, "--password-file", other_password_file_});
  }

  std::unique_ptr<RelayProcess> StartRelay() {
    return std::make_unique<RelayProcess>(relay_data_, dir_.Sub("relay.log"));
  }

  // This test's LAN: loopback, its own UDP port.
  std::vector<std::string> Lan() const {
    return {"--lan-interface", "127.0.0.1", "--lan-port", std::to_string(lan_port_)};
  }

  // `daicho --db DB serve` on 127.0.0.1, any port, as `name`.
  std::unique_ptr<Server> Serve(const std::string& db, const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--db", db, "serve", "--listen", "127.0.0.1:0", "--device-name", name, "--announce-interval-ms", "300"};
    const auto lan = Lan();
    args.insert(args.end(), lan.begin(), lan.end());
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = std::make_unique<Server>(args, dir_.Sub("serve-" + name + "-" + std::to_string(++serves_)));
    EXPECT_NE(server->port(), 0);
    return server;
  }

  static std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // The office's first PC: connect to the relay (saved login) and `key init`.
  void FirstPc(const std::string& db, const RelayProcess& relay, const std::string& contract = kContract,
               const std::string& user = kUser) {
    const bool other = contract != kContract;
    Ok({"--db", db, "connect", relay.url(), "--contract", contract, "--user", user, "--password-file",
        other ? other_password_file_ : password_file_, "--save-password", "--device-name",
        "first-" + db.substr(db.size() - 1)});
    const std::string out =
        Ok({"--db", db, "key", "init", "--passphrase-file", other ? other_passphrase_file_ : passphrase_file_});
    EXPECT_TRUE(Contains(out, "office key 1 created")) << out;
  }

  // `key export` on `from`, `key import` on `to`.
  void CarryKey(const std::string& from, const std::string& to) {
    const std::string file = dir_.Sub("office-key-" + std::to_string(++carried_) + ".daicho");
    std::string out = Ok({"--db", from, "key", "export", file});
    EXPECT_TRUE(Contains(out, "written to " + file)) << out;
    EXPECT_EQ(std::filesystem::status(file).permissions() &
                  (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none);
    EXPECT_EQ(ReadFile(file).find(kPassphrase), std::string::npos);
    out = Ok({"--db", to, "key", "import", file, "--passphrase-file", passphrase_file_});
    EXPECT_TRUE(Contains(out, "office key 1 unlocked from " + file)) << out;
  }

  json KeyStatus(const std::string& db) { return json::parse(Ok({"--db", db, "key", "status", "--json"})); }
  json Status(const std::string& db) { return json::parse(Ok({"--db", db, "status", "--json"})); }
  std::string GetJson(const std::string& db, const std::string& id) {
    RunResult r = Run({"--db", db, "get", "customers", id, "--json"});
    return r.exit_code == 0 ? r.out : std::string();
  }
  std::string ListJson(const std::string& db) { return Ok({"--db", db, "list", "customers", "--json"}); }

  std::string SyncPeer(const std::string& db, const std::string& url) {
    std::string out = Ok({"--db", db, "sync", "--peer", url});
    EXPECT_TRUE(Contains(out, "in sync with " + url)) << out;
    return out;
  }

  // `peers --json` until it lists `names` (announcements may take a moment).
  json PeersUntil(const std::string& db, const std::vector<std::string>& names) {
    json found;
    WaitFor(
        [&] {
          found = json::parse(Ok(With({"--db", db, "peers", "--json", "--wait-ms", "1000"}, Lan())));
          for (const std::string& n : names) {
            bool seen = false;
            for (const json& p : found) seen = seen || p["name"] == n;
            if (!seen) return false;
          }
          return true;
        },
        kDeadline, milliseconds(0));
    return found;
  }

  const std::string password_file_ = dir_.Sub("password.txt");
  const std::string other_password_file_ = dir_.Sub("other-password.txt");
  const std::string passphrase_file_ = dir_.Sub("passphrase.txt");
  const std::string other_passphrase_file_ = dir_.Sub("other-passphrase.txt");
  const std::string wrong_passphrase_file_ = dir_.Sub("wrong-passphrase.txt");
  const int lan_port_ = FreeUdpPort();
  int serves_ = 0;
  int carried_ = 0;
};

// Issue 11 item 4: `sync --peer` while other processes commit on both PCs
// (one of them the serving PC's replica) always ends; the 60 s wait is only
// a hang detector.
TEST_F(CliPeerTest, SyncPeerWhileOtherProcessesWriteBothReplicasAlwaysFinishes) {
  auto relay = StartRelay();
  const std::string a = Init("a");
  const std::string b = Init("b");
  FirstPc(a, *relay);
  CarryKey(a, b);
  auto server = Serve(b, "pc-b");
  {
    daicho::testing::WriterLoop on_a(a, "on-a", dir_.Sub("scratch"));
    daicho::testing::WriterLoop on_b(b, "on-b", dir_.Sub("scratch"));
    for (int i = 0; i < 20; ++i) {
      Child sync(DAICHO_CLI_PATH, {"--db", a, "sync", "--peer", server->url()}, dir_.Sub("sync.out"),
                 dir_.Sub("sync.err"));
      const std::optional<int> exit_code = sync.WaitForExit(seconds(60));
      ASSERT_EQ(exit_code, 0) << "sync " << i << (sync.running() ? " still running after 60 s" : " failed")
                              << "\nstdout: " << sync.out() << "\nstderr: " << sync.err();
      EXPECT_TRUE(Contains(sync.out(), "in sync with " + server->url())) << sync.out();
    }
    EXPECT_GT(on_a.Stop() + on_b.Stop(), 0u);
  }
  SyncPeer(a, server->url());
  EXPECT_TRUE(Contains(ListJson(a), "on-b-9"));
  EXPECT_EQ(ListJson(a), ListJson(b));
  server->Stop();
}

// A reaches the relay; B gets the key from A over the LAN, C from a file;
// A syncs only with the relay, B only with A, C only with B: every change
// reaches every PC and the relay, and B learns its work is backed up.
TEST_F(CliPeerTest, ThreePcsChainedThroughEachOtherReachTheRelay) {
  auto relay = StartRelay();
  ASSERT_GT(relay->port(), 0);
  const std::string a = Init("a");
  const std::string b = Init("b");
  const std::string c = Init("c");
  FirstPc(a, *relay);
  Ok({"--db", a, "set", "customers", "from-a", "trade_name=A"});
  Ok({"--db", a, "sync"});
  auto serve_a = Serve(a, "pc-a", {"--share-key"});
  ASSERT_GT(serve_a->port(), 0);
  EXPECT_TRUE(Contains(serve_a->child().out(), "--share-key")) << serve_a->child().out();

  // B: the key from A (A hands out only the passphrase-wrapped envelope).
  EXPECT_EQ(KeyStatus(b)["key_id"], 0);
  std::string out = Ok({"--db", b, "key", "unlock", "--peer", serve_a->url(), "--passphrase-file", passphrase_file_});
  EXPECT_TRUE(Contains(out, "office key 1 unlocked from " + serve_a->url())) << out;
  EXPECT_EQ(KeyStatus(b), json({{"key_id", 1}, {"keys_held", 1}, {"stored", true}}));
  EXPECT_TRUE(GetJson(b, "from-a").empty()) << "unlocking moves no change";
  // C: the key carried over in a file.
  CarryKey(a, c);

  Ok({"--db", b, "set", "customers", "from-b", "trade_name=B"});
  Ok({"--db", c, "set", "customers", "from-c", "trade_name=C"});
  EXPECT_EQ(Status(b)["unsynced_records"], 1);
  auto serve_b = Serve(b, "pc-b");
  ASSERT_GT(serve_b->port(), 0);

  // Two rounds: A with the relay, B with A, C with B.
  for (int round = 0; round < 2; ++round) {
    Ok({"--db", a, "sync"});
    SyncPeer(b, serve_a->url());
    SyncPeer(c, serve_b->url());
  }
  const std::string list_a = ListJson(a);
  EXPECT_EQ(json::parse(list_a).size(), 3u) << list_a;
  EXPECT_EQ(list_a, ListJson(b));
  EXPECT_EQ(list_a, ListJson(c));
  EXPECT_EQ(json::parse(GetJson(a, "from-c"))["fields"]["trade_name"], "C");

  // A fresh PC D syncing only with the relay sees B's and C's edits (C's
  // reached A after A's last relay sync: once more).
  Ok({"--db", a, "sync"});
  const std::string d = Init("d");
  Ok({"--db", d, "connect", relay->url(), "--contract", kContract, "--user", kUser, "--password-file", password_file_,
      "--save-password", "--device-name", "pc-d", "--passphrase-file", passphrase_file_});
  Ok({"--db", d, "sync"});
  EXPECT_EQ(ListJson(d), list_a);

  // B never reached the relay, yet learns that its work is backed up.
  EXPECT_TRUE(WaitFor([&] {
    Ok({"--db", a, "sync"});
    SyncPeer(b, serve_a->url());
    return Status(b)["unsynced_records"] == 0;
  })) << Status(b);
  const std::string text = Ok({"--db", b, "status"});
  EXPECT_TRUE(Contains(text, "not backed up: 0 records")) << text;

  serve_b->Stop();
  serve_a->Stop();
}

// `peers` lists the serving PCs of the office; `sync --peers` syncs with all
// of them; `sync --watch --peers` keeps doing so until stopped.
TEST_F(CliPeerTest, PeersListsServingPcsAndSyncPeersSyncsWithAll) {
  auto relay = StartRelay();
  ASSERT_GT(relay->port(), 0);
  const std::string a = Init("a");
  const std::string b = Init("b");
  const std::string c = Init("c");
  FirstPc(a, *relay);
  CarryKey(a, b);
  CarryKey(a, c);

  // Nobody serving yet.
  EXPECT_TRUE(Contains(Ok(With({"--db", c, "peers", "--wait-ms", "300"}, Lan())), "no peers found"));
  EXPECT_EQ(Ok(With({"--db", c, "peers", "--json", "--wait-ms", "300"}, Lan())), "[]\n");

  Ok({"--db", a, "set", "customers", "a1", "trade_name=A"});
  Ok({"--db", b, "set", "customers", "b1", "trade_name=B"});
  Ok({"--db", b, "set", "customers", "b2", "trade_name=B"});
  auto serve_a = Serve(a, "pc-a");
  auto serve_b = Serve(b, "pc-b");
  ASSERT_GT(serve_a->port(), 0);
  ASSERT_GT(serve_b->port(), 0);

  json peers = PeersUntil(c, {"pc-a", "pc-b"});
  ASSERT_EQ(peers.size(), 2u) << peers;
  EXPECT_EQ(peers[0]["name"], "pc-a") << peers;
  EXPECT_EQ(peers[0]["url"], serve_a->url()) << peers;
  EXPECT_EQ(peers[0]["ahead"], 1) << peers;
  EXPECT_EQ(peers[0]["behind"], 0) << peers;
  EXPECT_EQ(peers[1]["name"], "pc-b") << peers;
  EXPECT_EQ(peers[1]["url"], serve_b->url()) << peers;
  EXPECT_EQ(peers[1]["ahead"], 2) << peers;
  EXPECT_TRUE(peers[0]["last_seen"].is_string()) << peers;
  EXPECT_EQ(peers[0]["replica_id"].get<std::string>().size(), 32u) << peers;
  const std::string table = Ok(With({"--db", c, "peers", "--wait-ms", "1500"}, Lan()));
  EXPECT_TRUE(Contains(table, "NAME")) << table;
  EXPECT_TRUE(Contains(table, "pc-a")) << table;
  EXPECT_TRUE(Contains(table, serve_b->url())) << table;
  EXPECT_TRUE(Contains(table, "ago")) << table;

  Ok({"--db", c, "set", "customers", "c1", "trade_name=C"});
  std::string out = Ok(With({"--db", c, "sync", "--peers", "--wait-ms", "1500"}, Lan()));
  EXPECT_TRUE(Contains(out, "pc-a")) << out;
  EXPECT_TRUE(Contains(out, "pc-b")) << out;
  EXPECT_FALSE(GetJson(c, "a1").empty());
  EXPECT_FALSE(GetJson(c, "b2").empty());
  EXPECT_FALSE(GetJson(a, "c1").empty());
  EXPECT_FALSE(GetJson(b, "c1").empty());

  // --watch: a new edit on A reaches C without another command.
  Child watch(DAICHO_CLI_PATH,
              With({"--db", c, "sync", "--watch", "--peers", "--wait-ms", "700", "--interval-ms", "200"}, Lan()),
              dir_.Sub("watch.out"), dir_.Sub("watch.err"));
  Ok({"--db", a, "set", "customers", "a2", "trade_name=later"});
  EXPECT_TRUE(WaitFor([&] { return !GetJson(c, "a2").empty(); })) << watch.err();
  watch.Signal(SIGTERM);
  EXPECT_EQ(watch.WaitForExit(), 0) << watch.err();
  EXPECT_TRUE(Contains(watch.out(), "stopped")) << watch.out();

  serve_a->Stop();
  serve_b->Stop();
}

// Issue 12 item 13: `sync --peers` that finds no office PC has synced with
// nobody: it fails (exit 1) and tells the clerk what to check, instead of
// ending as if all were well.
TEST_F(CliPeerTest, SyncPeersFindingNobodyFailsAndSaysWhatToCheck) {
  auto relay = StartRelay();
  ASSERT_GT(relay->port(), 0);
  const std::string a = Init("a");
  FirstPc(a, *relay);
  Ok({"--db", a, "set", "customers", "a1", "trade_name=A"});

  const std::string err = Fails(With({"--db", a, "sync", "--peers", "--wait-ms", "300"}, Lan()));
  EXPECT_TRUE(Contains(err, "no office PC found on the LAN")) << err;
  EXPECT_TRUE(Contains(err, "daicho serve")) << err;
  EXPECT_TRUE(Contains(err, "this office's key")) << err;
  EXPECT_TRUE(Contains(err, "same network")) << err;
  EXPECT_TRUE(Contains(err, "--peer ws://")) << err;
  // Listing nobody is an answer, not a failure.
  EXPECT_TRUE(Contains(Ok(With({"--db", a, "peers", "--wait-ms", "300"}, Lan())), "no peers found"));
}

// Another office's PC is refused and nothing moves; the key is handed out
// only with --share-key, and only opens with the right passphrase.
TEST_F(CliPeerTest, AnotherOfficeAndWrongSecretsAreRefusedClearly) {
  auto relay = StartRelay();
  ASSERT_GT(relay->port(), 0);
  const std::string a = Init("a");
  const std::string x = Init("x");
  FirstPc(a, *relay);
  FirstPc(x, *relay, kOtherContract, kOtherUser);
  Ok({"--db", a, "set", "customers", "secret", "trade_name=OfficeA"});
  Ok({"--db", x, "set", "customers", "intruder", "trade_name=OfficeX"});
  auto serve_a = Serve(a, "pc-a");
  ASSERT_GT(serve_a->port(), 0);

  std::string err = Fails({"--db", x, "sync", "--peer", serve_a->url()});
  EXPECT_TRUE(Contains(err, serve_a->url())) << err;
  EXPECT_TRUE(Contains(err, "unauthenticated: the peer does not hold this office's key")) << err;
  EXPECT_TRUE(GetJson(x, "secret").empty());
  EXPECT_TRUE(GetJson(a, "intruder").empty());
  // Another office's PC does not see A's announcements either.
  auto serve_x = Serve(x, "pc-x");
  EXPECT_EQ(Ok(With({"--db", x, "peers", "--json", "--wait-ms", "1000"}, Lan())), "[]\n");
  // ... nor A X's (A lists neither itself nor pc-x).
  EXPECT_EQ(Ok(With({"--db", a, "peers", "--json", "--wait-ms", "1000"}, Lan())), "[]\n");
  serve_x->Stop();

  // A PC without the key: cannot sync; A without --share-key hands out nothing.
  const std::string n = Init("n");
  err = Fails({"--db", n, "sync", "--peer", serve_a->url()});
  EXPECT_TRUE(Contains(err, "does not hold the office key")) << err;
  EXPECT_TRUE(Contains(err, "key unlock --peer")) << err;
  err = Fails({"--db", n, "key", "unlock", "--peer", serve_a->url(), "--passphrase-file", passphrase_file_});
  EXPECT_TRUE(Contains(err, "unlocking the office key from the PC at " + serve_a->url())) << err;
  EXPECT_TRUE(Contains(err, "--share-key")) << err;
  EXPECT_EQ(KeyStatus(n)["key_id"], 0);
  serve_a->Stop();

  // With --share-key: a wrong passphrase is refused, nothing is kept.
  serve_a = Serve(a, "pc-a", {"--share-key", "--no-announce"});
  err = Fails({"--db", n, "key", "unlock", "--peer", serve_a->url(), "--passphrase-file", wrong_passphrase_file_});
  EXPECT_TRUE(Contains(err, "passphrase is wrong")) << err;
  EXPECT_EQ(KeyStatus(n)["key_id"], 0);
  EXPECT_FALSE(std::filesystem::exists(n + "/office.key"));
  EXPECT_EQ(ListJson(n), "[]\n");
  // A file that is not an exported key is named as such.
  err = Fails({"--db", x, "key", "import", passphrase_file_, "--passphrase-file", other_passphrase_file_});
  EXPECT_TRUE(Contains(err, "not an exported office key")) << err;
  // An unreachable peer is named.
  err = Fails({"--db", a, "sync", "--peer", "ws://127.0.0.1:1/"});
  EXPECT_TRUE(Contains(err, "127.0.0.1:1")) << err;
  serve_a->Stop();
}

// After a rotation one PC of the office still holds the old key: whichever
// PC runs `sync --peer` is told which of the two must unlock, from its own
// point of view; a PC of another office, whatever its key id, is told that
// the peer does not hold this office's key (not to unlock anything). Before,
// the serving PC's own message came back verbatim: numbers and advice
// swapped, and rotation advice for another office.
TEST_F(CliPeerTest, KeyIdMismatchTellsTheSyncingPcWhoMustUnlockAndAnotherOfficeIsNamed) {
  auto relay = StartRelay();
  ASSERT_GT(relay->port(), 0);
  const std::string a = Init("a");
  const std::string b = Init("b");
  const std::string x = Init("x");
  FirstPc(a, *relay);
  CarryKey(a, b);                                  // B holds key 1
  FirstPc(x, *relay, kOtherContract, kOtherUser);  // another office, its key 1
  const std::string rotated = Ok({"--db", a, "key", "rotate", "--passphrase-file", passphrase_file_});
  ASSERT_TRUE(Contains(rotated, "new office key 2")) << rotated;
  Ok({"--db", a, "set", "customers", "new", "trade_name=after the rotation"});
  Ok({"--db", b, "set", "customers", "old", "trade_name=before"});

  // B (key 1) syncs with A (key 2): B must unlock.
  auto serve_a = Serve(a, "pc-a", {"--no-announce"});
  std::string err = Fails({"--db", b, "sync", "--peer", serve_a->url()});
  EXPECT_TRUE(Contains(err, "this PC holds office key 1 and the other PC key 2")) << err;
  EXPECT_TRUE(Contains(err, "run `daicho key unlock` on this PC")) << err;
  EXPECT_FALSE(Contains(err, "on the other PC")) << err;
  // Another office's PC (its key 1) is not told to unlock: it is not one of this office's PCs.
  err = Fails({"--db", x, "sync", "--peer", serve_a->url()});
  EXPECT_TRUE(Contains(err, "the peer does not hold this office's key")) << err;
  EXPECT_FALSE(Contains(err, "key unlock")) << err;
  serve_a->Stop();

  // A (key 2) syncs with B (key 1): the other PC must unlock.
  auto serve_b = Serve(b, "pc-b", {"--no-announce"});
  err = Fails({"--db", a, "sync", "--peer", serve_b->url()});
  EXPECT_TRUE(Contains(err, "this PC holds office key 2 and the other PC key 1")) << err;
  EXPECT_TRUE(Contains(err, "run `daicho key unlock` on the other PC")) << err;
  EXPECT_FALSE(Contains(err, "on this PC")) << err;
  serve_b->Stop();
  // ... and with another office's PC serving (its key 1): not this office's.
  auto serve_x = Serve(x, "pc-x", {"--no-announce"});
  err = Fails({"--db", a, "sync", "--peer", serve_x->url()});
  EXPECT_TRUE(Contains(err, "the peer does not hold this office's key")) << err;
  EXPECT_FALSE(Contains(err, "key unlock")) << err;
  serve_x->Stop();

  // Nothing moved anywhere.
  EXPECT_TRUE(GetJson(b, "new").empty());
  EXPECT_TRUE(GetJson(a, "old").empty());
  EXPECT_TRUE(GetJson(x, "new").empty());
  // Once B unlocks the current key, they sync.
  const std::string key2 = dir_.Sub("key2.daicho");
  Ok({"--db", a, "key", "export", key2});
  Ok({"--db", b, "key", "import", key2, "--passphrase-file", passphrase_file_});
  serve_a = Serve(a, "pc-a", {"--no-announce"});
  SyncPeer(b, serve_a->url());
  EXPECT_FALSE(GetJson(b, "new").empty());
  EXPECT_FALSE(GetJson(a, "old").empty());
  serve_a->Stop();
}

// While A serves, other processes use A's replica; a peer syncing afterwards
// gets what they wrote.
TEST_F(CliPeerTest, ServeKeepsTheReplicaUsable) {
  auto relay = StartRelay();
  ASSERT_GT(relay->port(), 0);
  const std::string a = Init("a");
  const std::string b = Init("b");
  FirstPc(a, *relay);
  CarryKey(a, b);
  RunResult bad = Run({"--db", a, "serve", "--listen", "nonsense"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_TRUE(Contains(bad.err, "HOST:PORT")) << bad.err;

  auto serve_a = Serve(a, "pc-a", {"--no-announce"});
  ASSERT_GT(serve_a->port(), 0);
  Ok({"--db", a, "set", "customers", "n1", "trade_name=written while serving"});
  EXPECT_EQ(json::parse(GetJson(a, "n1"))["fields"]["trade_name"], "written while serving");
  Ok({"--db", a, "sync"});  // the relay too
  SyncPeer(b, serve_a->url());
  EXPECT_EQ(GetJson(a, "n1"), GetJson(b, "n1"));
  Ok({"--db", a, "set", "customers", "n2", "trade_name=again"});
  Ok({"--db", b, "set", "customers", "n3", "trade_name=from b"});
  SyncPeer(b, serve_a->url());
  EXPECT_FALSE(GetJson(b, "n2").empty());
  EXPECT_FALSE(GetJson(a, "n3").empty());
  EXPECT_TRUE(serve_a->child().running());
  EXPECT_EQ(serve_a->child().err(), "");
  serve_a->Stop();
}

}  // namespace
