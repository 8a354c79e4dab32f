// bench/ledger_data.h: the seeded history's last positions, which compare_load
// uses as its readiness probe's consistency token (issue 19: probing for the
// last seeded SKU let the run start while other partitions were still being
// folded, and its first reads of their SKUs failed with NOT_FOUND).
#include "bench/ledger_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/testing/temp_dir.h"
#include "eventlog/rocksdb_log.h"
#include "projector/projector.h"

namespace bench {
namespace {

TEST(SeedStockTest, ReturnsTheLastPositionOfEveryPartition) {
  base::TempDir dir("ledger_data_test");
  auto seeded = SeedStock(dir.path(), 500, 7, "WH-1");
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  auto log = eventlog::RocksDbLog::Open(
      {.path = (dir / "log").string(), .partition_count = kLedgerPartitions});
  ASSERT_TRUE(log.ok()) << log.status();
  auto end = (*log)->EndOffsets();
  ASSERT_TRUE(end.ok());
  std::set<std::uint32_t> named;
  for (const LastPosition& p : *seeded) {
    ASSERT_LT(p.partition, kLedgerPartitions);
    EXPECT_EQ(p.offset + 1, (*end)[p.partition]) << "partition " << p.partition;
    named.insert(p.partition);
  }
  for (std::uint32_t p = 0; p < kLedgerPartitions; ++p) {
    EXPECT_EQ(named.count(p) == 1, (*end)[p] > 0) << "every partition holding records, and only those: " << p;
  }
  EXPECT_GT(named.size(), 1u) << "the history spans partitions, so one SKU's position cannot stand for it";
}

TEST(SeedStockTest, ReadModelsCoveringTheTokenHoldEverySku) {
  base::TempDir dir("ledger_data_test");
  constexpr int kSkus = 300;
  auto seeded = SeedStock(dir.path(), kSkus, 7, "WH-1");
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  auto log = eventlog::RocksDbLog::Open(
      {.path = (dir / "log").string(), .partition_count = kLedgerPartitions});
  ASSERT_TRUE(log.ok()) << log.status();
  auto projector = projector::Projector::Start(
      log->get(), {.path = (dir / "views").string(), .batch_events_max = 16});
  ASSERT_TRUE(projector.ok()) << projector.status();
  std::vector<eventlog::LogPosition> token;
  for (const LastPosition& p : *seeded) token.push_back({p.partition, p.offset});
  ASSERT_TRUE((*projector)->WaitApplied(token, std::chrono::steady_clock::now() + std::chrono::seconds(30)).ok());
  auto snapshot = (*projector)->NewLevelsSnapshot();
  for (int i = 0; i < kSkus; ++i) {
    auto level = snapshot->Level(absl::StrCat("SKU-", i), "WH-1");
    ASSERT_TRUE(level.ok() && level->has_value()) << "SKU-" << i;
    EXPECT_EQ((*level)->on_hand(), 7);
  }
}

}  // namespace
}  // namespace bench
