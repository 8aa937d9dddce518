#include "relay/mail/outbox_transport.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/key_file.h"

namespace daicho::relay::mail {

Result<std::unique_ptr<OutboxTransport>> OutboxTransport::Open(const std::string& directory,
                                                               std::shared_ptr<Clock> clock) {
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("cannot create the mail outbox " + directory + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return IoError("the mail outbox " + directory + " is not a directory");
  }
  return std::unique_ptr<OutboxTransport>(new OutboxTransport(directory, clock ? std::move(clock) : SystemClock()));
}

OutboxTransport::OutboxTransport(std::string directory, std::shared_ptr<Clock> clock)
    : directory_(std::move(directory)), clock_(std::move(clock)) {}

Status OutboxTransport::Deliver(std::string_view /*from*/, std::string_view /*to*/, std::string_view message) {
  // The envelope is in the message's own headers; the file is the message.
  char name[64];
  // The process id keeps two relays sharing an outbox from taking one name.
  std::snprintf(name, sizeof name, "%013llu-%d-%06llu.eml", static_cast<unsigned long long>(clock_->NowMillis()),
                static_cast<int>(::getpid()), static_cast<unsigned long long>(sequence_.fetch_add(1)));
  return crypto::WriteOwnerOnlyFile(directory_ + "/" + name, message);
}

std::string OutboxTransport::Describe() const { return "outbox " + directory_; }

}  // namespace daicho::relay::mail
