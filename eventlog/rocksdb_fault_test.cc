// The embedded log under injected disk faults (eventlog/testing/
// fault_file_system.h): a failing fsync, failing writes, a full disk and a
// power cut. What must hold: an acknowledged append is never lost, a failing
// disk refuses appends with UNAVAILABLE naming the cause, and appends go on
// once the disk recovers, with the offsets still contiguous and no record
// twice. One case fills a real tmpfs (when run as root).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/testing/temp_dir.h"
#include "eventlog/rocksdb_log.h"
#include "eventlog/testing/fault_file_system.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eventlog {
namespace {

using ::testing::HasSubstr;

class RocksDbFaultTest : public ::testing::Test {
 protected:
  // Opens the log at `path` (default: the test's directory), on fs_ unless
  // `real_disk`.
  void Open(std::string path = "", bool real_disk = false) {
    RocksDbLogOptions options;
    options.path = path.empty() ? dir_.path() + "/log" : path;
    options.partition_count = 2;
    if (!real_disk) options.file_system = fs_;
    absl::StatusOr<std::unique_ptr<RocksDbLog>> log = RocksDbLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  // Appends one record with payload `payload`; returns the append's status.
  absl::Status Append(const std::string& payload) {
    std::vector<LogRecord> records{{"key-" + payload, payload}};
    absl::StatusOr<std::vector<LogPosition>> positions = log_->Append(records);
    if (positions.ok()) acknowledged_.push_back(payload);
    return positions.status();
  }

  // Every payload in the log, partition by partition, checking that offsets
  // are contiguous from 0.
  std::vector<std::string> Payloads() {
    std::vector<std::string> out;
    for (uint32_t p = 0; p < log_->partition_count(); ++p) {
      absl::StatusOr<std::vector<StoredRecord>> records = log_->Read(p, 0, 1000);
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok()) continue;
      for (size_t i = 0; i < records->size(); ++i) {
        EXPECT_EQ((*records)[i].position.offset, i) << "partition " << p;
        out.push_back((*records)[i].payload);
      }
    }
    return out;
  }

  // Every acknowledged payload is in the log exactly once; anything else in
  // it is one of `ambiguous` (appends that failed), at most once.
  void ExpectAcknowledgedKept(const std::vector<std::string>& ambiguous) {
    std::vector<std::string> in_log = Payloads();
    for (const std::string& a : acknowledged_) {
      EXPECT_EQ(std::count(in_log.begin(), in_log.end(), a), 1) << "acknowledged " << a;
    }
    for (const std::string& r : in_log) {
      if (std::count(acknowledged_.begin(), acknowledged_.end(), r) > 0) continue;
      EXPECT_THAT(ambiguous, ::testing::Contains(r)) << "never appended: " << r;
      EXPECT_EQ(std::count(in_log.begin(), in_log.end(), r), 1) << r;
    }
  }

  base::TempDir dir_{"rocksdb_fault_test"};
  std::shared_ptr<FaultFileSystem> fs_ = std::make_shared<FaultFileSystem>();
  std::unique_ptr<RocksDbLog> log_;
  std::vector<std::string> acknowledged_;
};

TEST_F(RocksDbFaultTest, FailingFsyncRefusesAppendsUntilTheDiskRecovers) {
  Open();
  for (std::string p : {"a1", "a2", "a3"}) ASSERT_TRUE(Append(p).ok());

  fs_->Set(DiskFault::kSyncFails);
  absl::Status failed = Append("b1");
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.message(), HasSubstr("fsync failed"));
  absl::Status still = Append("b2");
  EXPECT_EQ(still.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(still.message(), HasSubstr("has not recovered"));
  EXPECT_GT(fs_->faults(), 0u);

  fs_->Set(DiskFault::kNone);
  // The first append after the resume may learn that b1 reached the disk.
  absl::Status after = Append("c1");
  if (!after.ok()) {
    EXPECT_EQ(after.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(after.message()), HasSubstr("after all"));
    ASSERT_TRUE(Append("c1").ok());
  }
  ASSERT_TRUE(Append("c2").ok());
  ExpectAcknowledgedKept({"b1", "b2"});

  // And the same after a clean reopen.
  ASSERT_TRUE(log_->Close().ok());
  Open();
  ExpectAcknowledgedKept({"b1", "b2"});
  ASSERT_TRUE(Append("d1").ok());
  ExpectAcknowledgedKept({"b1", "b2"});
}

TEST_F(RocksDbFaultTest, FullDiskNamesTheCauseAndResumesWhenSpaceReturns) {
  Open();
  ASSERT_TRUE(Append("a1").ok());
  fs_->Set(DiskFault::kFull);
  absl::Status full = Append("b1");
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(full.message(), HasSubstr("No space left on device"));
  EXPECT_EQ(Append("b2").code(), absl::StatusCode::kUnavailable);
  fs_->Set(DiskFault::kNone);
  absl::Status after = Append("c1");
  if (!after.ok()) {
    ASSERT_TRUE(Append("c1").ok()) << after;
  }
  ExpectAcknowledgedKept({"b1", "b2"});
  // A write that could not be written at all is not in the log.
  std::vector<std::string> in_log = Payloads();
  EXPECT_EQ(std::count(in_log.begin(), in_log.end(), "b1"), 0);
}

TEST_F(RocksDbFaultTest, FailingWritesRefuseAppendsAndLoseNothing) {
  Open();
  ASSERT_TRUE(Append("a1").ok());
  fs_->Set(DiskFault::kWritesFail);
  absl::Status failed = Append("b1");
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.message(), HasSubstr("write failed"));
  fs_->Set(DiskFault::kNone);
  absl::Status after = Append("c1");
  if (!after.ok()) {
    ASSERT_TRUE(Append("c1").ok()) << after;
  }
  ExpectAcknowledgedKept({"b1"});
}

TEST_F(RocksDbFaultTest, PowerCutKeepsEveryAcknowledgedAppend) {
  Open();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Append("a" + std::to_string(i)).ok());
  // One append whose fsync fails: its bytes are in the file but not synced.
  fs_->Set(DiskFault::kSyncFails);
  EXPECT_FALSE(Append("lost").ok());
  fs_->PowerLoss();
  log_->Close().IgnoreError();  // nothing more reaches the disk
  log_.reset();
  fs_->DropUnsyncedData();
  fs_->Set(DiskFault::kNone);

  Open();
  ExpectAcknowledgedKept({"lost"});
  EXPECT_EQ(Payloads().size(), acknowledged_.size()) << "the unsynced append did not survive the power cut";
  ASSERT_TRUE(Append("after").ok());
  ExpectAcknowledgedKept({});
}

TEST_F(RocksDbFaultTest, PowerCutDuringManyAppendsKeepsEveryAcknowledgedOne) {
  // Many power cuts at different points of a history, each followed by a
  // reopen: whatever was acknowledged before the cut is there after it.
  for (int round = 0; round < 5; ++round) {
    Open();
    for (int i = 0; i < 20 * (round + 1); ++i) ASSERT_TRUE(Append("r" + std::to_string(round) + "-" + std::to_string(i)).ok());
    fs_->PowerLoss();
    EXPECT_FALSE(Append("off-" + std::to_string(round)).ok());
    log_->Close().IgnoreError();
    log_.reset();
    fs_->DropUnsyncedData();
    fs_->Set(DiskFault::kNone);
  }
  Open();
  ExpectAcknowledgedKept({});
  EXPECT_EQ(Payloads().size(), acknowledged_.size());
}

// The same on a real full file system: a small tmpfs the test mounts (it
// needs root; skipped otherwise), filled by another file until the log's
// writes fail with ENOSPC, then freed.
TEST_F(RocksDbFaultTest, RealFullTmpfsRefusesAppendsAndResumesWhenFreed) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  const std::string mnt = dir_.path() + "/tmpfs";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0700), 0) << std::strerror(errno);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=32m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};

  Open(mnt + "/log", /*real_disk=*/true);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Append("a" + std::to_string(i)).ok());

  // Fill the rest of the tmpfs.
  const std::string filler = mnt + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(64 * 1024, 'x');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
  }

  // Appends of 4 KiB until one is refused (the WAL's preallocated space may
  // take a few first).
  const std::string big(4096, 'b');
  absl::Status refused;
  std::vector<std::string> ambiguous;
  for (int i = 0; i < 4096 && refused.ok(); ++i) {
    std::string payload = "full-" + std::to_string(i) + big;
    refused = Append(payload);
    if (!refused.ok()) ambiguous.push_back(payload);
  }
  ASSERT_FALSE(refused.ok()) << "4096 appends of 4 KiB fitted in a full 32 MiB tmpfs";
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("No space left on device"));

  // Space returns: appends resume (the first may learn the refused one
  // reached the disk after all).
  ASSERT_EQ(::unlink(filler.c_str()), 0) << std::strerror(errno);
  absl::Status after = Append("after");
  if (!after.ok()) {
    ASSERT_TRUE(Append("after").ok()) << after;
  }
  ExpectAcknowledgedKept(ambiguous);
  ASSERT_TRUE(log_->Close().ok());
  log_.reset();
  Open(mnt + "/log", /*real_disk=*/true);
  ExpectAcknowledgedKept(ambiguous);
  ASSERT_TRUE(log_->Close().ok());
  log_.reset();
}

}  // namespace
}  // namespace eventlog
