#include "tests/reliability/crash_loops/upload_crashes.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "sync/sync_session.h"
#include "tests/reliability/crash_loops/child_reports.h"
#include "tests/reliability/crash_loops/office.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"

namespace daicho::reliability {
namespace {

// Big enough that an upload is many batches: a window is a fraction of it.
constexpr size_t kMemoBytes = 2000;
// WebSocketOptions::idle_timeout: a peer that answers nothing, pings
// included, is given up after it (docs/protocol.md "Limits").
constexpr double kSilentPeerDeadlineSeconds = 60;

// The PC's sync process: one RelayClient::Sync, reporting "to_send up" on
// every progress report. Exit code 0 when the sync completed.
[[noreturn]] void RunUploader(const std::string& pc_path, int fd) {
  auto replica = OpenPc(pc_path);
  if (!replica.ok()) _exit(2);
  RelayClient client(**replica);
  SyncOptions options;
  options.on_progress = [fd](const SyncProgress& p) {
    if (!ReportLine(fd, std::to_string(p.changes_to_send) + " " + std::to_string(p.changes_up))) _exit(3);
  };
  _exit(client.Sync(options).ok() ? 0 : 1);
}

struct Session {
  pid_t pid = -1;
  int report_fd = -1;
};

Session StartUploader(const std::string& pc_path) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = testing::ForkAndRun([&]() -> int {
    close(fds[0]);
    RunUploader(pc_path, fds[1]);
  });
  close(fds[1]);
  return {pid, fds[0]};
}

// Waits up to `limit` for the child; its exit code, or nullopt if it runs on.
std::optional<int> WaitUpTo(pid_t pid, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (done < 0) return -1;
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// What one session's reports say: where it started (the relay's holdings,
// from what it had to send) and how far it sent.
struct SessionReach {
  bool handshake = false;
  uint64_t start = 0;
  uint64_t sent_to = 0;
};
SessionReach ReachOf(const std::vector<std::string>& lines, uint64_t changes) {
  SessionReach reach;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    uint64_t to_send = 0, up = 0;
    if (!(in >> to_send >> up)) continue;
    reach.handshake = true;
    reach.start = changes - std::min(to_send, changes);
    reach.sent_to = std::max(reach.sent_to, reach.start + up);
  }
  return reach;
}

class UploadLoop {
 public:
  UploadLoop(const UploadCrashOptions& options, UploadCrashFigures& figures)
      : options_(options), figures_(figures), rng_(options.seed), port_(testing::FreeLoopbackPort()) {}

  Status Run() {
    DAICHO_RETURN_IF_ERROR(SetUp());
    // The window: what a sender may have unacknowledged (SessionOptions).
    const sync::SessionOptions session;
    figures_.window_changes = session.max_in_flight_batches * (session.max_batch_bytes / kMemoBytes + 1);
    DAICHO_RETURN_IF_ERROR(CleanUpload());
    while (figures_.cuts < options_.cuts) DAICHO_RETURN_IF_ERROR(UploadWithCuts());
    if (options_.freeze) DAICHO_RETURN_IF_ERROR(FrozenRelay());
    return Status::Ok();
  }

 private:
  std::string RelayDir() const { return options_.dir + "/relay"; }

  // The PC with its changes, connected and holding the office key; the
  // relay's store as it is then is the template every upload starts from.
  Status SetUp() {
    template_dir_ = options_.dir + "/relay-template";
    DAICHO_RETURN_IF_ERROR(testing::CreateRelayStoreWithUser(template_dir_, kContract, kUser, kPassword));
    pc_path_ = options_.dir + "/pc";
    DAICHO_ASSIGN_OR_RETURN(auto replica, OpenPc(pc_path_));
    DAICHO_RETURN_IF_ERROR(CommitMemos(*replica, "c", options_.changes, kMemoBytes));
    testing::RelayProcess relay(template_dir_, options_.dir + "/relay.log", ListenArgs());
    if (relay.port() == 0) return Status(Code::kUnavailable, "the relay did not start");
    DAICHO_RETURN_IF_ERROR(ConnectFirstPc(*replica, relay.url()));
    relay.StopCleanly();
    return Status::Ok();
  }

  std::vector<std::string> ListenArgs() const { return {"--listen", "127.0.0.1:" + std::to_string(port_)}; }

  Status FreshRelayStore() {
    relay_.reset();
    std::filesystem::remove_all(RelayDir());
    std::error_code ec;
    std::filesystem::copy(template_dir_, RelayDir(), std::filesystem::copy_options::recursive, ec);
    if (ec) return Status(Code::kIoError, "copying the relay store: " + ec.message());
    return StartRelay();
  }

  Status StartRelay() {
    relay_ = std::make_unique<testing::RelayProcess>(RelayDir(), options_.dir + "/relay.log", ListenArgs());
    if (relay_->port() == 0) return Status(Code::kUnavailable, "the relay did not start");
    return Status::Ok();
  }

  // One upload without cuts: the baseline, and the scale of the kill moments.
  Status CleanUpload() {
    DAICHO_RETURN_IF_ERROR(FreshRelayStore());
    const auto started = std::chrono::steady_clock::now();
    Session s = StartUploader(pc_path_);
    const std::optional<int> code = WaitUpTo(s.pid, std::chrono::minutes(5));
    ReadReportLines(s.report_fd);
    close(s.report_fd);
    if (code != 0)
      return Internal("an upload without cuts failed (exit code " + std::to_string(code.value_or(-1)) + ")");
    figures_.clean_upload_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return Status::Ok();
  }

  // One upload into a fresh relay store, cut until it completes.
  Status UploadWithCuts() {
    DAICHO_RETURN_IF_ERROR(FreshRelayStore());
    uint64_t sent_before = 0;  // the furthest any earlier session of this upload sent
    bool cut_before = false;
    for (;;) {
      if (!relay_) DAICHO_RETURN_IF_ERROR(StartRelay());
      Session s = StartUploader(pc_path_);
      ++figures_.sessions;
      const auto limit = std::chrono::microseconds(
          static_cast<int64_t>(rng_() % static_cast<uint64_t>(figures_.clean_upload_seconds * 1e6 + 1)));
      std::optional<int> code = WaitUpTo(s.pid, limit);
      bool cut = false;
      if (!code && figures_.cuts < options_.cuts) {
        cut = true;
        ++figures_.cuts;
        if (rng_() % 2 == 0) {
          relay_->Kill();
          relay_.reset();
          ++figures_.relay_kills;
        } else {
          kill(s.pid, SIGKILL);
          ++figures_.client_kills;
        }
      }
      if (!code) code = WaitUpTo(s.pid, std::chrono::seconds(90));
      const SessionReach reach = ReachOf(ReadReportLines(s.report_fd), options_.changes);
      close(s.report_fd);
      if (!code) return Internal("the PC's sync process did not end within 90 s of the relay's death");
      if (reach.handshake && cut_before) {
        // What this session sent again: the part of the earlier sessions'
        // sending the relay had not stored when the connection was cut.
        const uint64_t resent = sent_before > reach.start ? sent_before - reach.start : 0;
        figures_.resent_total += resent;
        figures_.max_resent_per_cut = std::max(figures_.max_resent_per_cut, resent);
        if (resent > figures_.window_changes) {
          return Internal("after a cut the PC sent " + std::to_string(resent) +
                          " changes again: more than the in-flight window of " +
                          std::to_string(figures_.window_changes));
        }
        cut_before = false;
      }
      sent_before = std::max(sent_before, reach.sent_to);
      if (cut) {
        cut_before = true;
        continue;
      }
      if (*code != 0) return Internal("a sync after a cut failed with exit code " + std::to_string(*code));
      break;
    }
    ++figures_.uploads;
    return CheckNothingLeftToSend();
  }

  // The relay holds every change: a new session of the PC has nothing to send.
  Status CheckNothingLeftToSend() {
    Session s = StartUploader(pc_path_);
    const std::optional<int> code = WaitUpTo(s.pid, std::chrono::minutes(1));
    const SessionReach reach = ReachOf(ReadReportLines(s.report_fd), options_.changes);
    close(s.report_fd);
    if (code != 0 || !reach.handshake || reach.start != options_.changes) {
      return Internal("after the upload the relay holds " + std::to_string(reach.start) + " of the " +
                      std::to_string(options_.changes) + " changes");
    }
    return Status::Ok();
  }

  // A new PC downloads everything the relay holds: each of the changes, once
  // (slower than CheckNothingLeftToSend: two Argon2id logins and 20 MB).
  Status CheckRelayHoldsEverything() {
    const std::string path = options_.dir + "/check-pc";
    std::filesystem::remove_all(path);
    DAICHO_ASSIGN_OR_RETURN(auto replica, OpenPc(path));
    DAICHO_ASSIGN_OR_RETURN(SyncSummary summary, SyncWithPassword(*replica, relay_->url()));
    DAICHO_ASSIGN_OR_RETURN(VersionVector holds, replica->GetVersionVector());
    if (holds.Total() != options_.changes || summary.changes_down != options_.changes) {
      return Internal("after the upload the relay gave a new PC " + std::to_string(summary.changes_down) +
                      " changes (" + std::to_string(holds.Total()) + " kept) of " + std::to_string(options_.changes));
    }
    replica.reset();
    std::filesystem::remove_all(path);
    return Status::Ok();
  }

  // SIGSTOP the relay mid-upload: the PC gives up within its deadline; with
  // the relay running again, the next sync completes.
  Status FrozenRelay() {
    DAICHO_RETURN_IF_ERROR(FreshRelayStore());
    Session s = StartUploader(pc_path_);
    std::this_thread::sleep_for(std::chrono::duration<double>(figures_.clean_upload_seconds / 3));
    const auto frozen = std::chrono::steady_clock::now();
    kill(relay_->pid(), SIGSTOP);
    const std::optional<int> code =
        WaitUpTo(s.pid, std::chrono::seconds(static_cast<int>(kSilentPeerDeadlineSeconds) + 30));
    figures_.frozen_give_up_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - frozen).count();
    figures_.frozen_deadline_seconds = kSilentPeerDeadlineSeconds;
    kill(relay_->pid(), SIGCONT);
    ReadReportLines(s.report_fd);
    close(s.report_fd);
    if (!code) {
      kill(s.pid, SIGKILL);
      testing::WaitExitCode(s.pid);
      return Internal("the PC still waited for the frozen relay after " +
                      std::to_string(static_cast<int>(kSilentPeerDeadlineSeconds) + 30) + " s");
    }
    if (*code == 0) return Internal("the upload completed although the relay was frozen");
    Session again = StartUploader(pc_path_);
    const std::optional<int> next = WaitUpTo(again.pid, std::chrono::minutes(5));
    ReadReportLines(again.report_fd);
    close(again.report_fd);
    if (next != 0) return Internal("the sync after the frozen relay ran again failed");
    return CheckRelayHoldsEverything();
  }

  const UploadCrashOptions& options_;
  UploadCrashFigures& figures_;
  std::mt19937_64 rng_;
  const int port_;
  std::string template_dir_;
  std::string pc_path_;
  std::unique_ptr<testing::RelayProcess> relay_;
};

}  // namespace

Result<UploadCrashFigures> RunUploadCrashes(const UploadCrashOptions& options) {
  UploadCrashFigures figures;
  const auto started = std::chrono::steady_clock::now();
  UploadLoop loop(options, figures);
  DAICHO_RETURN_IF_ERROR(loop.Run());
  figures.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return figures;
}

}  // namespace daicho::reliability
