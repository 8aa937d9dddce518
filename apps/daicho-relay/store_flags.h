// Where the relay keeps its store, on the command line: `--data DIR` (LMDB
// in one directory: one relay process) or `--store CONNINFO` (PostgreSQL:
// any number of relay nodes share it). Every command names exactly one.
#ifndef DAICHO_APPS_DAICHO_RELAY_STORE_FLAGS_H_
#define DAICHO_APPS_DAICHO_RELAY_STORE_FLAGS_H_

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "daicho/status.h"
#include "relay/change_feed.h"
#include "relay/relay_backend.h"

namespace daicho::apps {

struct StoreFlags {
  std::string data_dir;  // --data
  std::string conninfo;  // --store
};

// Adds --data and --store (each excludes the other) to `app`.
void AddStoreFlags(CLI::App& app, StoreFlags& flags);

// kInvalidArgument unless exactly one of the two was given.
Status CheckStoreFlags(const StoreFlags& flags);

// How messages name the store so that the operator can paste it into the
// next command: "--data DIR", or --store "<conninfo>" with its password
// masked.
std::string StoreArgument(const StoreFlags& flags);

// What `serve` and the administration commands work on.
struct OpenedStore {
  std::shared_ptr<relay::RelayBackend> backend;
  // News of other nodes' commits (PostgreSQL), not started; null for LMDB,
  // which one process serves alone.
  std::unique_ptr<relay::ChangeFeed> feed;
};

// Opens the store the flags name; one that is not there is kNotFound with
// the `init` command that makes it (only `init` creates a store, so a
// mistyped flag never serves an empty one). `node_name` names this process
// in a shared store's notifications; empty: a random name.
Result<OpenedStore> OpenExistingStore(const StoreFlags& flags, const std::string& node_name = "");

// `init`: creates an empty store; what to tell the operator. An existing
// store is never touched (kAlreadyExists).
Result<std::string> CreateStore(const StoreFlags& flags);

// `migrate`: brings the store's schema up to this build's; what to tell the
// operator.
Result<std::string> MigrateStore(const StoreFlags& flags);

}  // namespace daicho::apps

#endif  // DAICHO_APPS_DAICHO_RELAY_STORE_FLAGS_H_
