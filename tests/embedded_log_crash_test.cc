// kill -9 against the embedded log: a child process (embedded_log_crash_child)
// appends batches from several threads and reports each acknowledged batch;
// we SIGKILL it at a random moment, reopen the log and check that
//   * every acknowledged batch is there, and
//   * every batch that is there is whole (no torn batch),
//   * offsets per partition are 0, 1, 2, ... and the log accepts new appends.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/testing/temp_dir.h"
#include "gtest/gtest.h"
#include "eventlog/rocksdb_log.h"

extern char** environ;

namespace {

struct BatchSeen {
  size_t n = 0;               // records the batch claims to have
  std::set<size_t> indexes;   // records found
};

// Parses "batch=<id> n=<n> i=<i> ..."; false when malformed.
bool ParsePayload(const std::string& payload, uint64_t* id, size_t* n, size_t* i) {
  unsigned long long id_value = 0;
  unsigned long n_value = 0;
  unsigned long i_value = 0;
  if (std::sscanf(payload.c_str(), "batch=%llu n=%lu i=%lu", &id_value, &n_value, &i_value) != 3) return false;
  *id = id_value;
  *n = n_value;
  *i = i_value;
  return true;
}

// Reads 8-byte ids from `fd` into `acked` until `want` ids arrived (or EOF
// when want == 0). Returns false on timeout.
bool ReadAcks(int fd, size_t want, std::vector<uint64_t>* acked, std::string* partial) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  char buffer[4096];
  while (want == 0 || acked->size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got <= 0) return want == 0;
    partial->append(buffer, static_cast<size_t>(got));
    while (partial->size() >= sizeof(uint64_t)) {
      uint64_t id = 0;
      std::memcpy(&id, partial->data(), sizeof(id));
      acked->push_back(id);
      partial->erase(0, sizeof(id));
    }
  }
  return true;
}

void RunOnce(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  const base::TempDir dir("crash_test");
  const std::string path = dir.path() + "/log";

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const std::string seed_arg = std::to_string(seed);
  std::string child_path = CRASH_CHILD_PATH;
  char* argv[] = {child_path.data(), const_cast<char*>(path.c_str()), const_cast<char*>(seed_arg.c_str()), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, child_path.c_str(), &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);

  // Kill after a random number of acknowledged batches, plus a random few
  // hundred microseconds so the kill lands anywhere in a write.
  std::mt19937_64 rng(seed);
  const size_t kill_after = 20 + rng() % 300;
  std::vector<uint64_t> acked;
  std::string partial;
  ASSERT_TRUE(ReadAcks(fds[0], kill_after, &acked, &partial)) << "child stalled after " << acked.size() << " acks";
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "child exited on its own: " << wstatus;
  ASSERT_TRUE(ReadAcks(fds[0], 0, &acked, &partial));  // what it reported before dying
  close(fds[0]);

  eventlog::RocksDbLogOptions options;
  options.path = path;
  options.partition_count = 8;
  absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> log = eventlog::RocksDbLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  std::map<uint64_t, BatchSeen> batches;
  for (uint32_t p = 0; p < options.partition_count; ++p) {
    absl::StatusOr<std::vector<eventlog::StoredRecord>> records = (*log)->Read(p, 0, 1'000'000);
    ASSERT_TRUE(records.ok()) << records.status();
    for (size_t k = 0; k < records->size(); ++k) {
      const eventlog::StoredRecord& record = (*records)[k];
      ASSERT_EQ(record.position.offset, k) << "offsets of partition " << p << " are not contiguous";
      uint64_t id = 0;
      size_t n = 0;
      size_t i = 0;
      ASSERT_TRUE(ParsePayload(record.payload, &id, &n, &i)) << record.payload;
      BatchSeen& seen = batches[id];
      seen.n = n;
      EXPECT_TRUE(seen.indexes.insert(i).second) << "record " << i << " of batch " << id << " appears twice";
    }
  }
  for (const auto& [id, seen] : batches) {
    EXPECT_EQ(seen.indexes.size(), seen.n) << "torn batch " << id << ": " << seen.indexes.size() << " of " << seen.n;
  }
  for (uint64_t id : acked) EXPECT_TRUE(batches.contains(id)) << "acknowledged batch " << id << " is missing";
  EXPECT_GE(batches.size(), acked.size());

  std::vector<eventlog::LogRecord> more = {{"sku-1", "batch=0 n=1 i=0 after"}};
  EXPECT_TRUE((*log)->Append(more).ok());
  log->reset();
}

TEST(EmbeddedLogCrashTest, KillNineLosesNoAcknowledgedBatchAndTearsNone) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    RunOnce(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
