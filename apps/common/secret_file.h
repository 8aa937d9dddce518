// Secrets (passwords) for the command-line apps come from files, never from
// the command line, where `ps` and the shell history would show them.
#ifndef DAICHO_APPS_COMMON_SECRET_FILE_H_
#define DAICHO_APPS_COMMON_SECRET_FILE_H_

#include <string>

#include "daicho/status.h"

namespace daicho::apps {

// The first line of the file at `path` without its line end (LF or CRLF).
// kIoError if it cannot be read.
Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace daicho::apps

#endif  // DAICHO_APPS_COMMON_SECRET_FILE_H_
