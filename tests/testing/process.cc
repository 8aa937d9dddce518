#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace daicho::testing {
namespace {

// Opens `path` for a child's output, or keeps the stream `inherited` ("" path).
int OpenOutput(const std::string& path, int inherited, bool append) {
  if (path.empty()) return inherited;
  return open(path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
}

size_t FileSize(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
}

}  // namespace

bool WaitFor(const std::function<bool()>& done, std::chrono::steady_clock::duration timeout,
             std::chrono::milliseconds poll) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(poll);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

pid_t SpawnProgram(const std::string& exe, const std::vector<std::string>& args, const OutputFiles& output) {
  std::vector<std::string> full = {exe};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(full.size() + 1);  // and the nullptr
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open("/dev/null", O_RDONLY);
    const int out = OpenOutput(output.out, 1, output.append);
    const int err = output.err == output.out && !output.out.empty() ? out : OpenOutput(output.err, 2, output.append);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

RunResult RunProgram(const std::string& exe, const std::vector<std::string>& args, const std::string& scratch_dir) {
  const std::string out_path = scratch_dir + "/stdout.txt";
  const std::string err_path = scratch_dir + "/stderr.txt";
  const pid_t pid = SpawnProgram(exe, args, {out_path, err_path});
  RunResult r;
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    ADD_FAILURE() << "could not run " << exe;
    return r;
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  EXPECT_EQ(r.signal, 0) << exe << " killed by signal " << r.signal << "; stderr: " << r.err;
  return r;
}

Child::Child(const std::string& exe, const std::vector<std::string>& args, OutputFiles output)
    : output_(std::move(output)) {
  pid_ = SpawnProgram(exe, args, output_);
  EXPECT_GT(pid_, 0) << "could not fork for " << exe;
}

Child::~Child() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Child::running() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    wait_status_ = status;
    if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) signal_ = WTERMSIG(status);
    return false;
  }
  return true;
}

void Child::Signal(int signal_number) {
  if (running()) kill(pid_, signal_number);
}

std::optional<int> Child::WaitForExit(std::chrono::steady_clock::duration timeout) {
  WaitFor([this] { return !running(); }, timeout);
  if (!exited_ || signal_ != 0) return std::nullopt;
  return exit_code_;
}

ListeningProcess::ListeningProcess(const std::string& exe, const std::vector<std::string>& args,
                                   const OutputFiles& output, const std::string& ready_pattern, bool on_stderr)
    : on_stderr_(on_stderr),
      log_start_(output.append ? FileSize(on_stderr ? output.err : output.out) : 0),
      child_(exe, args, output) {
  const std::regex ready(ready_pattern);
  WaitFor([&] {
    const std::string text = log();
    std::smatch m;
    if (std::regex_search(text, m, ready)) {
      ready_.assign(m.begin(), m.end());
      port_ = std::stoi(ready_[1]);
      return true;
    }
    return !child_.running();
  });
  EXPECT_GT(port_, 0) << exe << " did not start; stdout: " << child_.out() << "\nstderr: " << child_.err();
}

void ListeningProcess::Stop() {
  child_.Signal(SIGTERM);
  EXPECT_EQ(child_.WaitForExit(), 0) << "stderr: " << child_.err();
  EXPECT_NE(log().find("stopped"), std::string::npos) << log();
}

std::string ListeningProcess::log() const {
  const std::string text = on_stderr_ ? child_.err() : child_.out();
  return log_start_ < text.size() ? text.substr(log_start_) : std::string();
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace daicho::testing
