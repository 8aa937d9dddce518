#include "apps/common/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace daicho::apps {

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return IoError("cannot open " + path + ": " + std::strerror(errno));
  std::string line;
  std::getline(in, line);
  if (in.bad()) return IoError("cannot read " + path);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace daicho::apps
