#include "tests/reliability/crash_loops/disk_full.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "tests/reliability/crash_loops/office.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/tiny_filesystem.h"

namespace daicho::reliability {
namespace {

constexpr uint64_t kRelayDiskBytes = 16 << 20;
constexpr uint64_t kPcDiskBytes = 32 << 20;  // the whole download fits once space is free
constexpr size_t kMemoBytes = 2000;
constexpr uint64_t kBefore = 300;  // changes uploaded before the disk fills
constexpr uint64_t kAfter = 2000;  // 4 MB more: far past what LMDB finds free in its file
constexpr uint64_t kLater = 1000;  // for the PC whose disk fills to download

Result<uint64_t> Held(const Replica& replica) {
  DAICHO_ASSIGN_OR_RETURN(VersionVector vv, replica.GetVersionVector());
  return vv.Total();
}

class DiskFull {
 public:
  DiskFull(const std::string& dir, DiskFullFigures& figures)
      : dir_(dir), figures_(figures), port_(testing::FreeLoopbackPort()) {}

  Status Run() {
    const std::string relay_disk = dir_ + "/relay-disk";
    figures_.skipped = relay_fs_.Mount(relay_disk, kRelayDiskBytes);
    if (!figures_.skipped.empty()) return Status::Ok();
    relay_dir_ = relay_disk + "/relay";
    DAICHO_RETURN_IF_ERROR(testing::CreateRelayStoreWithUser(relay_dir_, kContract, kUser, kPassword));
    DAICHO_RETURN_IF_ERROR(StartRelay());
    DAICHO_RETURN_IF_ERROR(RelayDiskFills());
    return PcDiskFills();
  }

 private:
  Status StartRelay() {
    relay_ = std::make_unique<testing::RelayProcess>(
        relay_dir_, dir_ + "/relay.log", std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port_)});
    if (relay_->port() == 0) return Status(Code::kUnavailable, "the relay did not start: " + relay_->log());
    return Status::Ok();
  }

  Status RelayDiskFills() {
    DAICHO_ASSIGN_OR_RETURN(writer_, OpenPc(dir_ + "/writer-pc"));
    Replica* writer = writer_.get();
    DAICHO_RETURN_IF_ERROR(ConnectFirstPc(*writer, relay_->url()));
    DAICHO_RETURN_IF_ERROR(CommitMemos(*writer, "before", kBefore, kMemoBytes));
    RelayClient client(*writer);
    DAICHO_RETURN_IF_ERROR(client.Sync().status());
    DAICHO_ASSIGN_OR_RETURN(figures_.relay_changes_before_full, Held(*writer));

    if (!relay_fs_.Fill()) return Internal("the relay's file system did not fill");
    DAICHO_RETURN_IF_ERROR(CommitMemos(*writer, "after", kAfter, kMemoBytes));
    auto refused = client.Sync();
    if (refused.ok()) return Internal("the relay took 4 MB more on a full disk");
    figures_.relay_full_upload_error = refused.status().ToString();
    // The operator reads why in the relay's log (written as the session ends).
    std::string log;
    testing::WaitFor([&] {
      log = relay_->log();
      return log.find("the disk is full") != std::string::npos;
    });
    const size_t full = log.find("the disk is full");
    if (full == std::string::npos) return Internal("the relay's log does not say its disk is full:\n" + log);
    const size_t begin = log.rfind('\n', full) + 1;
    figures_.relay_log_line = log.substr(begin, log.find('\n', full) - begin);

    // Still serving what it holds: a new PC downloads it all.
    DAICHO_ASSIGN_OR_RETURN(auto reader, OpenPc(dir_ + "/reader-pc"));
    auto served = SyncWithPassword(*reader, relay_->url());
    if (!served.ok())
      return Internal("the relay with a full disk did not serve a download: " + served.status().ToString());
    DAICHO_ASSIGN_OR_RETURN(figures_.relay_changes_served_while_full, Held(*reader));
    if (figures_.relay_changes_served_while_full < figures_.relay_changes_before_full) {
      return Internal("the relay with a full disk served " + std::to_string(figures_.relay_changes_served_while_full) +
                      " of the " + std::to_string(figures_.relay_changes_before_full) + " changes it acknowledged");
    }

    // Its store opens on the full disk.
    relay_->Kill();
    DAICHO_RETURN_IF_ERROR(StartRelay());
    figures_.relay_restarted_while_full = true;
    DAICHO_RETURN_IF_ERROR(SyncWithPassword(*reader, relay_->url()).status());

    relay_fs_.Free();
    DAICHO_RETURN_IF_ERROR(client.Sync().status());
    DAICHO_RETURN_IF_ERROR(SyncWithPassword(*reader, relay_->url()).status());
    DAICHO_ASSIGN_OR_RETURN(figures_.relay_changes_after_free, Held(*reader));
    if (figures_.relay_changes_after_free != kBefore + kAfter) {
      return Internal("after space was freed the relay holds " + std::to_string(figures_.relay_changes_after_free) +
                      " of " + std::to_string(kBefore + kAfter) + " changes");
    }
    return Status::Ok();
  }

  // A PC on a small disk: a commit and a download fail saying the disk is
  // full, the store opens again on the full disk, and both complete once
  // space is free.
  Status PcDiskFills() {
    testing::TinyFilesystem pc_fs;
    const std::string pc_disk = dir_ + "/pc-disk";
    if (std::string why = pc_fs.Mount(pc_disk, kPcDiskBytes); !why.empty()) return Internal(why);
    const std::string path = pc_disk + "/pc";
    DAICHO_ASSIGN_OR_RETURN(auto pc, OpenPc(path));
    DAICHO_RETURN_IF_ERROR(SyncWithPassword(*pc, relay_->url()).status());  // the office key, and all so far
    DAICHO_RETURN_IF_ERROR(CommitMemos(*pc, "own", 10, kMemoBytes));
    DAICHO_ASSIGN_OR_RETURN(const uint64_t acknowledged, Held(*pc));
    // Another PC uploads 2 MB more meanwhile.
    DAICHO_RETURN_IF_ERROR(CommitMemos(*writer_, "later", kLater, kMemoBytes));
    DAICHO_RETURN_IF_ERROR(RelayClient(*writer_).Sync().status());

    if (!pc_fs.Fill()) return Internal("the PC's file system did not fill");
    const Status commit = CommitMemos(*pc, "big", 1, 512 << 10);
    if (commit.ok()) return Internal("a 512 KB commit went through on a full disk");
    figures_.pc_full_commit_error = commit.ToString();
    auto download = SyncWithPassword(*pc, relay_->url());
    if (download.ok()) return Internal("a 2 MB download went through on a full disk");
    figures_.pc_full_download_error = download.status().ToString();
    pc.reset();
    DAICHO_ASSIGN_OR_RETURN(pc, OpenPc(path));
    DAICHO_ASSIGN_OR_RETURN(const uint64_t kept, Held(*pc));
    if (kept < acknowledged) {
      return Internal("the PC holds " + std::to_string(kept) + " of the " + std::to_string(acknowledged) +
                      " changes it had acknowledged");
    }

    pc_fs.Free();
    DAICHO_RETURN_IF_ERROR(CommitMemos(*pc, "big", 1, 512 << 10));
    DAICHO_RETURN_IF_ERROR(SyncWithPassword(*pc, relay_->url()).status());
    DAICHO_ASSIGN_OR_RETURN(figures_.pc_changes_after_free, Held(*pc));
    const uint64_t everything = kBefore + kAfter + kLater + 10 + 1;
    if (figures_.pc_changes_after_free != everything) {
      return Internal("after space was freed the PC holds " + std::to_string(figures_.pc_changes_after_free) +
                      " changes of " + std::to_string(everything));
    }
    return Status::Ok();
  }

  const std::string dir_;
  DiskFullFigures& figures_;
  const int port_;
  testing::TinyFilesystem relay_fs_;
  std::string relay_dir_;
  std::unique_ptr<testing::RelayProcess> relay_;
  std::unique_ptr<Replica> writer_;  // the office's first PC, on a disk with room
};

}  // namespace

Result<DiskFullFigures> RunDiskFull(const std::string& dir) {
  DiskFullFigures figures;
  const auto started = std::chrono::steady_clock::now();
  DiskFull run(dir, figures);
  DAICHO_RETURN_IF_ERROR(run.Run());
  figures.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return figures;
}

}  // namespace daicho::reliability
