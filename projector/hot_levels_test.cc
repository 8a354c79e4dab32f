// The hot levels (projector/hot_levels.h) against the RocksDB views they
// copy: equal row by row after incremental folds, a restart and a rebuild;
// never behind the applied offsets the projector reported; the SKU bound.
#include "projector/hot_levels.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/testing/temp_dir.h"
#include "eventlog/memory_log.h"
#include "ledger/codec.h"
#include "ledger/decide.h"
#include "ledger/evolve.h"
#include "ledger/testing/history_generator.h"
#include "projector/projector.h"

namespace projector {
namespace {

namespace v1 = inventory::v1;
using namespace std::chrono_literals;
using ledger::Command;
using ledger::Sku;
using ledger::WarehouseCode;

std::string TestDir(std::string_view name) {
  static base::TempDir root("hot_levels_test");
  static std::atomic<int> counter{0};
  return (root / absl::StrCat(counter++, "_", std::string(name))).string();
}

auto Deadline() { return std::chrono::steady_clock::now() + 10s; }

// Decides commands against a ledger State and appends their events.
class History {
 public:
  explicit History(eventlog::EventLog* log) : log_(log), state_(Options()) {}
  static ledger::LedgerOptions Options() {
    ledger::LedgerOptions options;  // large bounds: nothing resolved is forgotten
    options.resolved_kept_max = 1'000'000;
    options.resolved_kept_age_max_ms = ledger::DurationMs{INT64_MAX / 4};
    return options;
  }
  void Run(const Command& command) {
    ledger::Decision d = ledger::DecideAndApply(state_, command);
    std::vector<eventlog::LogRecord> records;
    for (const ledger::Event& e : d.events) records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    if (records.empty()) return;
    ASSERT_TRUE(log_->Append(records).ok());
  }
  void Run(ledger::CommandBody body) {
    now_ms_ += std::chrono::seconds{1};
    Run(Command{{ledger::CommandId(absl::StrCat("cmd-", ++next_)), now_ms_, "tester", ""}, std::move(body)});
  }
  // `steps` random commands (and the expiries they make due).
  void Random(uint64_t seed, int steps) {
    ledger::test_support::HistoryGenerator generator(seed);
    for (int step = 0; step < steps; ++step) {
      now_ms_ += std::chrono::milliseconds{200};
      Run(generator.Next(state_, now_ms_));
      for (const ledger::ReservationId& id : state_.ExpiredBy(now_ms_, 10)) {
        Run(Command{{ledger::CommandId(absl::StrCat("expire/", id.value())), now_ms_, "timer", ""},
                    ledger::ExpireReservation{id}});
      }
    }
  }

 private:
  eventlog::EventLog* log_;
  ledger::State state_;
  ledger::TimeMs now_ms_ = ledger::AtEpochMs(1'700'000'000'000);
  int next_ = 0;
};

// What availability reads see of `s`, as text: applied offsets, warehouses,
// and per SKU of `skus` the item, total and levels.
std::string Rows(const Snapshot& s, const std::vector<std::string>& skus) {
  std::string out = "applied";
  for (size_t p = 0; p < s.applied().size(); ++p) absl::StrAppend(&out, " ", s.applied()[p]);
  out += "\n";
  EXPECT_TRUE(s.ForEachWarehouse([&](const v1::Warehouse& w) {
                 absl::StrAppend(&out, "warehouse ", w.ShortDebugString(), "\n");
                 return true;
               }).ok());
  for (const std::string& sku : skus) {
    auto item = s.Item(sku);
    auto shared = s.SharedItem(sku);
    auto total = s.Total(sku);
    EXPECT_TRUE(item.ok() && shared.ok() && total.ok());
    EXPECT_EQ(item.ok() && *item ? (*item)->ShortDebugString() : "-",
              shared.ok() && *shared ? (*shared)->ShortDebugString() : "-");
    absl::StrAppend(&out, sku, " item ", item.ok() && *item ? (*item)->ShortDebugString() : "-", " total ",
                    total.ok() && *total ? (*total)->ShortDebugString() : "-", "\n");
    EXPECT_TRUE(s.ForEachLevelOf(sku, [&](const v1::StockLevel& l) {
                   absl::StrAppend(&out, "  ", l.ShortDebugString(), "\n");
                   auto one = s.Level(sku, l.warehouse());
                   EXPECT_TRUE(one.ok() && *one && (*one)->ShortDebugString() == l.ShortDebugString());
                   return true;
                 }).ok());
  }
  return out;
}

// Every SKU the RocksDB views know (items and levels), plus one they do not.
std::vector<std::string> SkusOf(const Snapshot& views) {
  std::set<std::string> skus = {"NO-SUCH-SKU"};
  EXPECT_TRUE(views.ForEachItem("", [&](const v1::Item& i) {
                     skus.insert(i.sku());
                     return true;
                   }).ok());
  EXPECT_TRUE(views.ForEachLevel([&](const v1::StockLevel& l) {
                     skus.insert(l.sku());
                     return true;
                   }).ok());
  return {skus.begin(), skus.end()};
}

// With nothing appended meanwhile: the hot copy equals the RocksDB views.
void ExpectHotEqualsViews(const Projector& projector, size_t skus_min) {
  std::unique_ptr<Snapshot> views = projector.NewSnapshot();
  std::unique_ptr<Snapshot> hot = projector.NewLevelsSnapshot();
  ASSERT_EQ(hot->ForEachReservation("", [](const v1::Reservation&) { return true; }).code(),
            absl::StatusCode::kFailedPrecondition)
      << "a hot snapshot, not RocksDB's";
  std::vector<std::string> skus = SkusOf(*views);
  ASSERT_GE(skus.size(), skus_min) << "the history made items and levels";
  EXPECT_EQ(Rows(*hot, skus), Rows(*views, skus));
}

TEST(HotLevelsTest, EqualTheViewsAfterIncrementalFoldsRestartAndRebuild) {
  for (uint64_t seed : {1u, 2u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    auto log = eventlog::MemoryLog::Open({.partition_count = 4});
    ASSERT_TRUE(log.ok());
    History history(log->get());
    ProjectorOptions options{.path = TestDir("views"), .batch_events_max = 64, .cache_entries_max = 50};
    {
      auto projector = Projector::Start(log->get(), options);
      ASSERT_TRUE(projector.ok()) << projector.status();
      for (int round = 0; round < 3; ++round) {  // folded while the projector runs
        history.Random(seed * 10 + static_cast<uint64_t>(round), 700);
        ASSERT_TRUE((*projector)->WaitCaughtUp(Deadline()).ok());
        ExpectHotEqualsViews(**projector, 5);
      }
    }
    history.Random(seed * 10 + 5, 300);  // appended while stopped
    {
      auto restarted = Projector::Start(log->get(), options);  // loads the copy from RocksDB
      ASSERT_TRUE(restarted.ok()) << restarted.status();
      ASSERT_TRUE((*restarted)->WaitCaughtUp(Deadline()).ok());
      ExpectHotEqualsViews(**restarted, 5);
    }
    options.rebuild = true;
    auto rebuilt = Projector::Start(log->get(), options);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
    ASSERT_TRUE((*rebuilt)->WaitCaughtUp(Deadline()).ok());
    ExpectHotEqualsViews(**rebuilt, 5);
  }
}

TEST(HotLevelsTest, NeverBehindWhatTheProjectorReportedApplied) {
  auto log = eventlog::MemoryLog::Open({.partition_count = 4});
  ASSERT_TRUE(log.ok());
  History history(log->get());
  history.Run(ledger::RegisterWarehouse{WarehouseCode("W"), "W", "eu", 1, true});
  history.Run(ledger::CreateItem{Sku("S"), "S", "c", {}, 0, 0});
  auto projector = Projector::Start(log->get(), {.path = TestDir("race"), .batch_ms = 0ms});
  ASSERT_TRUE(projector.ok());
  std::atomic<bool> done{false};
  std::atomic<int> behind{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      base::NextOffsets before = (*projector)->applied();
      std::unique_ptr<Snapshot> hot = (*projector)->NewLevelsSnapshot();
      for (size_t p = 0; p < before.size(); ++p) behind += hot->applied()[p] < before[p] ? 1 : 0;
      ++reads;
    }
  });
  for (int i = 0; i < 2000; ++i) history.Run(ledger::ReceiveStock{Sku("S"), WarehouseCode("W"), 1, ""});
  ASSERT_TRUE((*projector)->WaitCaughtUp(Deadline()).ok());
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(behind.load(), 0);
  auto total = (*projector)->NewLevelsSnapshot()->Total("S");
  ASSERT_TRUE(total.ok() && *total);
  EXPECT_EQ((*total)->on_hand(), 2000);
}

TEST(HotLevelsTest, PastTheSkuBoundReadsFallBackToRocksDb) {
  auto log = eventlog::MemoryLog::Open({.partition_count = 4});
  ASSERT_TRUE(log.ok());
  History history(log->get());
  history.Run(ledger::RegisterWarehouse{WarehouseCode("W"), "W", "eu", 1, true});
  history.Run(ledger::CreateItem{Sku("A"), "A", "c", {}, 0, 0});
  history.Run(ledger::ReceiveStock{Sku("A"), WarehouseCode("W"), 4, ""});
  auto projector = Projector::Start(log->get(), {.path = TestDir("bound"), .hot_skus_max = 2});
  ASSERT_TRUE(projector.ok());
  ASSERT_TRUE((*projector)->WaitCaughtUp(Deadline()).ok());
  auto is_hot = [&] {
    return (*projector)->NewLevelsSnapshot()->Counts().status().code() == absl::StatusCode::kFailedPrecondition;
  };
  EXPECT_TRUE(is_hot()) << "1 SKU of at most 2: in memory";
  history.Run(ledger::CreateItem{Sku("B"), "B", "c", {}, 0, 0});
  history.Run(ledger::CreateItem{Sku("C"), "C", "c", {}, 0, 0});
  history.Run(ledger::ReceiveStock{Sku("C"), WarehouseCode("W"), 6, ""});
  ASSERT_TRUE((*projector)->WaitCaughtUp(Deadline()).ok());
  EXPECT_FALSE(is_hot()) << "3 SKUs: the copy is off, RocksDB answers";
  auto total = (*projector)->NewLevelsSnapshot()->Total("C");
  ASSERT_TRUE(total.ok() && *total);
  EXPECT_EQ((*total)->on_hand(), 6);
}

TEST(HotLevelsTest, OffWithZeroSkus) {
  auto log = eventlog::MemoryLog::Open({.partition_count = 2});
  ASSERT_TRUE(log.ok());
  auto projector = Projector::Start(log->get(), {.path = TestDir("off"), .hot_skus_max = 0});
  ASSERT_TRUE(projector.ok());
  EXPECT_TRUE((*projector)->NewLevelsSnapshot()->Counts().ok()) << "RocksDB's snapshot answers reports";
}

}  // namespace
}  // namespace projector
