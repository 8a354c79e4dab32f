// kill -9 against the projector mid-apply: a child process folds a pre-filled
// embedded log with small batches and is killed at a random moment, several
// times, with and without the WAL. Then the views are finished in-process and
// compared, entry by entry, with a fresh rebuild of the same log.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/testing/temp_dir.h"
#include "ledger/codec.h"
#include "ledger/decide.h"
#include "ledger/evolve.h"
#include "eventlog/rocksdb_log.h"
#include "ledger/testing/history_generator.h"
#include "projector/projector.h"
#include "projector/store.h"

namespace {

using namespace std::chrono_literals;

// Fills an embedded log with a random history; returns the event count.
uint64_t FillLog(const std::string& path, uint64_t seed, int steps) {
  auto log = eventlog::RocksDbLog::Open({.path = path, .partition_count = 4});
  EXPECT_TRUE(log.ok()) << log.status();
  ledger::State state;
  ledger::test_support::HistoryGenerator generator(seed);
  ledger::TimeMs now = ledger::AtEpochMs(1'700'000'000'000);
  uint64_t events = 0;
  std::vector<eventlog::LogRecord> records;
  auto run = [&](const ledger::Command& command) {
    for (const ledger::Event& e : ledger::DecideAndApply(state, command).events) {
      records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    }
  };
  for (int step = 0; step < steps; ++step) {
    now += ledger::DurationMs{100};
    run(generator.Next(state, now));
    for (const ledger::ReservationId& id : state.ExpiredBy(now, 10)) {
      run({{ledger::CommandId(absl::StrCat("expire/", id.value())), now, "timer", ""},
           ledger::ExpireReservation{id}});
    }
    if (records.size() >= 500 || step + 1 == steps) {
      EXPECT_TRUE((*log)->Append(records).ok());
      events += records.size();
      records.clear();
    }
  }
  return events;
}

uint64_t AppliedSum(const std::string& views) {
  auto store = projector::Store::OpenStore({.path = views, .partition_count = 4}, projector::OpenMode::kReadWrite);
  EXPECT_TRUE(store.ok()) << store.status();
  auto applied = (*store)->LoadApplied();
  EXPECT_TRUE(applied.ok());
  uint64_t sum = 0;
  for (uint64_t a : *applied) sum += a;
  return sum;
}

// Starts the child and kills it `after` once it has started.
void RunAndKill(const std::string& log, const std::string& views, size_t batch, uint64_t no_wal_min,
                std::chrono::milliseconds after) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    std::string batch_arg = std::to_string(batch), wal_arg = std::to_string(no_wal_min);
    execl(PROJECTOR_CRASH_CHILD_PATH, PROJECTOR_CRASH_CHILD_PATH, log.c_str(), views.c_str(), batch_arg.c_str(),
          wal_arg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  char buf[16] = {};
  ssize_t n = read(out[0], buf, sizeof(buf) - 1);
  close(out[0]);
  ASSERT_GT(n, 0) << "child did not start";
  ASSERT_EQ(std::string(buf, static_cast<size_t>(n)), "started\n");
  std::this_thread::sleep_for(after);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
}

TEST(ProjectorCrashTest, KilledMidApplyResumesToExactlyAFreshRebuild) {
  const base::TempDir root("projector_crash");
  std::string log = (root / "log").string();
  uint64_t total = FillLog(log, 7, 60'000);
  ASSERT_GT(total, 5'000u);

  std::mt19937_64 rng(42);
  bool killed_mid_way = false;
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::string views = (root / absl::StrCat("views", round % 2)).string();
    // Odd rounds catch up with the WAL off (atomic flush at the end).
    uint64_t no_wal_min = round % 2 == 1 ? 1 : 0;
    uint64_t before = std::filesystem::exists(views) ? AppliedSum(views) : 0;
    RunAndKill(log, views, /*batch=*/16 + rng() % 64, no_wal_min, std::chrono::milliseconds(5 + rng() % 150));
    uint64_t after = AppliedSum(views);
    EXPECT_GE(after, before) << "applied offsets went backwards";
    if (after < total) killed_mid_way = true;
  }
  EXPECT_TRUE(killed_mid_way) << "no kill landed before the projector finished; the test proved nothing";

  auto opened = eventlog::RocksDbLog::Open({.path = log, .partition_count = 4});
  ASSERT_TRUE(opened.ok());
  auto finish = [&](const std::string& views) {
    projector::ProjectorOptions options;
    options.path = views;
    auto p = projector::Projector::Start(opened->get(), options);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_TRUE((*p)->WaitCaughtUp(std::chrono::steady_clock::now() + 30s).ok());
    EXPECT_EQ((*p)->stats().anomalies, 0u) << "a double-applied event breaks an invariant";
  };
  std::string fresh = (root / "fresh").string();
  for (const std::string& views : {(root / "views0").string(), (root / "views1").string(), fresh}) finish(views);

  auto dump = [](const std::string& views) {
    auto store =
        projector::Store::OpenStore({.path = views, .partition_count = 4}, projector::OpenMode::kReadWrite);
    EXPECT_TRUE(store.ok());
    auto rows = (*store)->DumpViews();
    EXPECT_TRUE(rows.ok());
    return *rows;
  };
  auto expected = dump(fresh);
  ASSERT_GT(expected.size(), 1000u);
  for (const std::string& views : {(root / "views0").string(), (root / "views1").string()}) {
    SCOPED_TRACE(views);
    auto got = dump(views);
    ASSERT_EQ(got.size(), expected.size());
    auto a = got.begin();
    auto b = expected.begin();
    for (; a != got.end(); ++a, ++b) {
      ASSERT_EQ(a->first, b->first);
      ASSERT_EQ(a->second, b->second) << "row " << a->first;
    }
  }
}

}  // namespace
