// The warm standby's fold: it follows the log into snapshots the command
// role loads at takeover. Over real processes and the development broker:
// tests/standby_takeover_test.py.
#include "command-api/standby.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "eventlog/memory_log.h"
#include "ledger/codec.h"
#include "ledger/event.h"
#include "ledger/testing/forged_events.h"

namespace command_api {
namespace {

class StandbyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("standby_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto log = eventlog::MemoryLog::Open(eventlog::MemoryLogOptions{});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    history_ = ledger::test_support::OversoldHistory();  // 3 valid events, then a forged one
    ASSERT_EQ(history_.size(), 4u);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const ledger::Event& event) {
    eventlog::LogRecord record{ledger::PartitionKey(event), ledger::Encode(event)};
    ASSERT_TRUE(log_->Append(std::span<const eventlog::LogRecord>(&record, 1)).ok());
  }

  std::filesystem::path dir_;
  std::unique_ptr<eventlog::MemoryLog> log_;
  std::vector<ledger::Event> history_;
};

TEST_F(StandbyTest, FoldsTheLogIntoSnapshotsTheWriterLoads) {
  SnapshotStore snapshots(dir_, {});
  Standby standby(log_.get(), &snapshots, {.snapshot_every_events = 2});
  ASSERT_TRUE(standby.Start().ok());
  Append(history_[0]);
  ASSERT_TRUE(standby.CatchUp().ok());
  EXPECT_EQ(standby.events_applied(), 1u);
  EXPECT_EQ(snapshots.List()->size(), 0u) << "below snapshot_every_events: no snapshot yet";
  Append(history_[1]);
  Append(history_[2]);
  ASSERT_TRUE(standby.CatchUp().ok());
  EXPECT_EQ(standby.events_applied(), 3u);
  absl::StatusOr<ledger::Snapshot> saved = snapshots.LoadNewest({});
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->state.events_applied(), 3u);
  EXPECT_EQ(saved->next_offsets, standby.next_offsets());
  auto end = log_->EndOffsets();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(standby.next_offsets(), *end) << "caught up to the log's end";

  ASSERT_TRUE(standby.CatchUp().ok());  // nothing new: nothing saved
  ASSERT_TRUE(standby.SaveSnapshot().ok());
  EXPECT_EQ(snapshots.List()->size(), 1u);

  // A standby restarted on the directory starts from its snapshot, not zero.
  Standby again(log_.get(), &snapshots, {});
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(again.events_applied(), 3u);
  EXPECT_EQ(again.next_offsets(), standby.next_offsets());
}

TEST_F(StandbyTest, AnEventTheFoldRefusesIsDataLossAndNotSaved) {
  SnapshotStore snapshots(dir_, {});
  Standby standby(log_.get(), &snapshots, {.snapshot_every_events = 1});
  ASSERT_TRUE(standby.Start().ok());
  for (const ledger::Event& e : history_) Append(e);
  absl::Status s = standby.CatchUp();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("breaks an invariant"), std::string::npos) << s;
  EXPECT_EQ(s.message().rfind("log record ", 0), 0u) << "names the record: " << s;
  EXPECT_EQ(snapshots.List()->size(), 0u) << "no snapshot of a state the log does not back";
}

}  // namespace
}  // namespace command_api
