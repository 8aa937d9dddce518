// pg_test_instance start|stop DIR: the PostgreSQL instance the tests share
// (tests/CMakeLists.txt runs it as the `pg` ctest fixture; pg_instance.h).
#include <cstdio>
#include <string>

#include "tests/testing/pg_instance.h"

int main(int argc, char** argv) {
  using daicho::testing::PgInstance;
  const std::string command = argc == 3 ? argv[1] : "";
  if (command == "start") {
    auto instance = PgInstance::Start({.durable = false, .settings = {}, .dir = argv[2]});
    if (!instance.ok()) {
      std::fprintf(stderr, "pg_test_instance: %s\n", instance.status().ToString().c_str());
      return 1;
    }
    (*instance)->Detach();
    std::printf("PostgreSQL for the tests on 127.0.0.1:%d in %s\n", (*instance)->port(), argv[2]);
    return 0;
  }
  if (command == "stop") {
    // Stopped and removed when the attached instance goes.
    auto instance = PgInstance::Attach(argv[2], /*owned=*/true);
    if (!instance.ok()) std::fprintf(stderr, "pg_test_instance: %s\n", instance.status().ToString().c_str());
    return 0;
  }
  std::fprintf(stderr, "usage: pg_test_instance start|stop DIR\n");
  return 2;
}
