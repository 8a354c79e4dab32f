// The command side's snapshot files: one directory, newest valid one loaded
// at start (BRIEF.md decision 7). The bytes of each file are
// ledger::EncodeSnapshot's (ledger/snapshot.h); this is the I/O around them.
//
// Thread-safety: a SnapshotStore is used by one thread at a time, and at most
// one process saves into a directory (the command side's single writer).
#ifndef COMMAND_API_SNAPSHOT_STORE_H_
#define COMMAND_API_SNAPSHOT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/snapshot.h"

namespace command_api {

using ledger::LedgerOptions;
using ledger::Snapshot;
using ledger::State;

struct SnapshotStoreOptions {
  // Most snapshot files kept: after a successful Save, older ones beyond this
  // many are deleted. Default 3. REQUIRES: >= 1.
  std::size_t keep_max = 3;
};

// Snapshot files in one directory, named snapshot-<events_applied as 20
// digits>.snap, so name order is age order.
class SnapshotStore {
 public:
  SnapshotStore(std::filesystem::path dir, SnapshotStoreOptions options);

  // Writes the snapshot durably: to a temporary file, fsync, rename into
  // place, fsync the directory. Then deletes all but the keep_max newest
  // snapshots and any temporary file a crash left behind. Creates the
  // directory if missing. I/O failure: UNAVAILABLE naming the file.
  absl::Status Save(const State& state, std::span<const std::uint64_t> next_offsets);

  // The newest snapshot that decodes (and whose name agrees with its
  // content). Each file passed over is reported in `skipped` as
  // "<file>: <reason>" so the caller can log a warning. NOT_FOUND when no
  // file is valid (or the directory does not exist).
  absl::StatusOr<Snapshot> LoadNewest(LedgerOptions options, std::vector<std::string>* skipped = nullptr);

  // The snapshot files present, oldest first.
  absl::StatusOr<std::vector<std::filesystem::path>> List() const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  // Deletes all but the keep_max newest snapshots, and temporary files.
  absl::Status Prune();

  std::filesystem::path dir_;
  SnapshotStoreOptions options_;
};

}  // namespace command_api

#endif  // COMMAND_API_SNAPSHOT_STORE_H_
