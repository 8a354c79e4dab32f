// ServiceMetrics recorded by the real components: a Writer over an in-memory
// log (commands by kind and outcome, reservations, batches), a Projector that
// folds a forged event (the oversell check), the scrape-time collectors, and
// the traceparent parser.
#include "metrics/service_metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>

#include "absl/strings/str_cat.h"
#include "command-api/writer.h"
#include "eventlog/memory_log.h"
#include "ledger/codec.h"
#include "ledger/decide.h"
#include "ledger/evolve.h"
#include "ledger/testing/forged_events.h"
#include "metrics/collectors.h"
#include "metrics/grpc_interceptor.h"
#include "base/check.h"

namespace metrics {
namespace {

using namespace std::chrono_literals;

// The value of the sample line `series` (name and labels as exposed), or -1.
double ValueOf(const std::string& exposition, const std::string& series) {
  size_t at = 0;
  while ((at = exposition.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') {
      size_t end = exposition.find('\n', at);
      return std::stod(exposition.substr(at + series.size() + 1, end - at - series.size() - 1));
    }
    at += series.size();
  }
  return -1;
}

ledger::Command Cmd(std::string id, ledger::CommandBody body) {
  return {{ledger::CommandId(std::move(id)), {}, "tester", ""}, std::move(body)};
}

class WriterMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = eventlog::MemoryLog::Open(eventlog::MemoryLogOptions{});
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    command_api::WriterOptions options;
    options.metrics = &metrics_;
    auto writer = command_api::Writer::Open(log_.get(), nullptr, &clock_, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
  }

  command_api::WriteResult Run(ledger::Command command) {
    std::promise<command_api::WriteResult> done;
    EXPECT_TRUE(writer_->Submit(std::move(command), [&](const command_api::WriteResult& r, const ledger::State&) {
                  done.set_value(r);
                }).ok());
    return done.get_future().get();
  }

  Registry registry_;
  ServiceMetrics metrics_{&registry_};
  base::ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<eventlog::MemoryLog> log_;
  std::unique_ptr<command_api::Writer> writer_;
};

TEST_F(WriterMetricsTest, CountsCommandsReservationsAndBatches) {
  ASSERT_TRUE(Run(Cmd("c1", ledger::CreateItem{ledger::Sku("SKU-1"), "Mug", "", {}, 2, 0})).status.ok());
  ASSERT_TRUE(Run(Cmd("c2", ledger::RegisterWarehouse{ledger::WarehouseCode("WH"), "W", "eu"})).status.ok());
  ASSERT_TRUE(Run(Cmd("c3", ledger::ReceiveStock{ledger::Sku("SKU-1"), ledger::WarehouseCode("WH"), 5, ""})).status.ok());
  auto reserve = [](std::string id, ledger::Quantity q) {
    return ledger::Reserve{ledger::ReservationId(id),
                           ledger::OrderId("o-" + id),
                           {{ledger::Sku("SKU-1"), q, {}}},
                           std::chrono::minutes{1}};
  };
  EXPECT_TRUE(Run(Cmd("r1", reserve("r1", 3))).status.ok());
  EXPECT_TRUE(Run(Cmd("r1", reserve("r1", 3))).duplicate);
  EXPECT_FALSE(Run(Cmd("r2", reserve("r2", 50))).status.ok());  // insufficient stock
  EXPECT_TRUE(Run(Cmd("k1", ledger::CommitReservation{ledger::ReservationId("r1")})).status.ok());
  EXPECT_FALSE(Run(Cmd("k2", ledger::CommitReservation{ledger::ReservationId("nope")})).status.ok());

  std::string text = registry_.Expose();
  EXPECT_EQ(ValueOf(text, "inventory_reservations_total{outcome=\"reserved\"}"), 1) << text;
  EXPECT_EQ(ValueOf(text, "inventory_reservations_total{outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_reservations_total{outcome=\"rejected\",reason=\"insufficient_stock\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_reservations_committed_total"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_commands_total{kind=\"commit_reservation\",outcome=\"rejected\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_commands_total{kind=\"reserve\",outcome=\"accepted\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_commands_total{kind=\"receive_stock\",outcome=\"accepted\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_writer_batch_commands_count"), 8);
  EXPECT_EQ(ValueOf(text, "inventory_writer_up"), 1);

  // Expiry: past the TTL the writer issues ExpireReservation itself.
  EXPECT_TRUE(Run(Cmd("r3", reserve("r3", 1))).status.ok());
  clock_.Advance(61'000);
  writer_->ExpireDue();
  for (int i = 0; i < 200 && ValueOf(registry_.Expose(), "inventory_reservations_expired_total") < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ValueOf(registry_.Expose(), "inventory_reservations_expired_total"), 1);
}

std::string TempDir(std::string_view name) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             absl::StrCat("metrics_test_", getpid(), "_", counter++, "_", std::string(name));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// A log holding ledger/testing/forged_events.h's history: SKU-1 with 2 on
// hand at WH, then an event no writer would emit, appended directly: it takes
// 5 from that level.
std::unique_ptr<eventlog::MemoryLog> ForgedLog() {
  auto log = eventlog::MemoryLog::Open(eventlog::MemoryLogOptions{});
  INV_CHECK(log.ok());
  std::vector<eventlog::LogRecord> records;
  for (const ledger::Event& e : ledger::test_support::OversoldHistory()) {
    records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
  }
  INV_CHECK((*log)->Append(records).ok());
  return std::move(*log);
}

TEST(OversellCheckTest, WriterReplayCountsAForgedEventAndRefusesToStart) {
  std::unique_ptr<eventlog::MemoryLog> log = ForgedLog();
  Registry registry;
  ServiceMetrics metrics(&registry);
  base::ManualClock clock(1'700'000'200'000);
  command_api::WriterOptions options;
  options.metrics = &metrics;
  auto writer = command_api::Writer::Open(log.get(), nullptr, &clock, options);
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kDataLoss) << writer.status();
  std::string text = registry.Expose();
  EXPECT_EQ(ValueOf(text, "inventory_oversell_events_total{check=\"writer\"}"), 1) << text;
  EXPECT_EQ(ValueOf(text, "inventory_oversell_events_total{check=\"projector\"}"), 0);
}

TEST(OversellCheckTest, ProjectorCountsAForgedEventThatDrivesStockNegative) {
  std::unique_ptr<eventlog::MemoryLog> forged_log = ForgedLog();
  auto* log = &forged_log;
  Registry registry;
  ServiceMetrics metrics(&registry);
  projector::ProjectorOptions options;
  options.path = TempDir("oversell");
  options.metrics = &metrics;
  auto projector = projector::Projector::Start(log->get(), options);
  ASSERT_TRUE(projector.ok()) << projector.status();
  AddProjectorCollectors(&registry, projector->get());
  ASSERT_TRUE((*projector)->WaitCaughtUp(std::chrono::steady_clock::now() + 10s).ok());

  std::string text = registry.Expose();
  EXPECT_EQ(ValueOf(text, "inventory_oversell_events_total{check=\"projector\"}"), 1) << text;
  EXPECT_EQ(ValueOf(text, "inventory_oversell_events_total{check=\"writer\"}"), 0);
  EXPECT_EQ((*projector)->stats().oversells, 1u);
  EXPECT_GE(ValueOf(text, "inventory_projector_lag_events"), 0) << "the series is exposed";
  EXPECT_EQ(ValueOf(text, "inventory_projector_events_applied_total"), 4);
  EXPECT_GE(ValueOf(text, "inventory_projector_fold_batch_events_count"), 1);
  // SKU-1 is left at -5 available, reorder point 1: out of stock (not also
  // low: ledger/stock_rules.h), with one level series.
  EXPECT_EQ(ValueOf(text, "inventory_low_stock_items"), 0);
  EXPECT_EQ(ValueOf(text, "inventory_out_of_stock_items"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_stock_level{sku=\"SKU-1\",warehouse=\"WH\"}"), -3);
  (*projector)->Stop();
  std::filesystem::remove_all(options.path);
}

// The audit-on-start: a projector restarted on views that already hold the
// broken level counts it under check="audit" before folding anything; the
// first run, which folded the event, counted it under check="projector".
TEST(OversellCheckTest, ProjectorAuditOnStartFindsTheBrokenLevelItsViewsHold) {
  std::unique_ptr<eventlog::MemoryLog> log = ForgedLog();
  projector::ProjectorOptions options;
  options.path = TempDir("audit");
  for (int run = 0; run < 2; ++run) {
    Registry registry;
    ServiceMetrics metrics(&registry);
    options.metrics = &metrics;
    auto projector = projector::Projector::Start(log.get(), options);
    ASSERT_TRUE(projector.ok()) << projector.status();
    ASSERT_TRUE((*projector)->WaitCaughtUp(std::chrono::steady_clock::now() + 10s).ok());
    std::string text = registry.Expose();
    EXPECT_EQ(ValueOf(text, "inventory_oversell_events_total{check=\"audit\"}"), run == 0 ? 0 : 1) << run;
    EXPECT_EQ(ValueOf(text, "inventory_oversell_events_total{check=\"projector\"}"), run == 0 ? 1 : 0) << run;
    EXPECT_EQ((*projector)->stats().audit_oversells, run == 0 ? 0u : 1u);
    (*projector)->Stop();
  }
  std::filesystem::remove_all(options.path);
}

TEST(StockCollectorTest, StockLevelSeriesStopAtTheirBound) {
  auto log = eventlog::MemoryLog::Open(eventlog::MemoryLogOptions{});
  ASSERT_TRUE(log.ok());
  ledger::State state{ledger::LedgerOptions{}};
  std::vector<eventlog::LogRecord> records;
  auto run = [&](std::string id, ledger::CommandBody body) {
    ledger::Decision d = ledger::DecideAndApply(state, Cmd(std::move(id), std::move(body)));
    ASSERT_TRUE(d.accepted());
    for (const ledger::Event& e : d.events) records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
  };
  run("w", ledger::RegisterWarehouse{ledger::WarehouseCode("WH"), "W", "eu"});
  for (int i = 0; i < 5; ++i) {
    run(absl::StrCat("i", i), ledger::CreateItem{ledger::Sku(absl::StrCat("SKU-", i)), "x", "", {}, 10, 0});
    run(absl::StrCat("r", i), ledger::ReceiveStock{ledger::Sku(absl::StrCat("SKU-", i)), ledger::WarehouseCode("WH"), 3, ""});
  }
  ASSERT_TRUE((*log)->Append(records).ok());
  Registry registry;
  auto projector = projector::Projector::Start(log->get(), {.path = TempDir("bound")});
  ASSERT_TRUE(projector.ok());
  AddProjectorCollectors(&registry, projector->get(), {.stock_level_series_max = 3});
  ASSERT_TRUE((*projector)->WaitCaughtUp(std::chrono::steady_clock::now() + 10s).ok());
  std::string text = registry.Expose();
  EXPECT_EQ(ValueOf(text, "inventory_low_stock_items"), 5) << text;
  EXPECT_EQ(ValueOf(text, "inventory_out_of_stock_items"), 0);
  EXPECT_EQ(ValueOf(text, "inventory_stock_level{sku=\"SKU-2\",warehouse=\"WH\"}"), 3);
  EXPECT_EQ(ValueOf(text, "inventory_stock_level{sku=\"SKU-3\",warehouse=\"WH\"}"), -1) << "past the bound of 3";
}

TEST(GrpcMetricsTest, UnknownMethodsShareOneSeries) {
  Registry registry;
  ServiceMetrics metrics(&registry);
  metrics.AddGrpcMethods({"/inventory.v1.CommandService/Reserve"});
  size_t reserve = metrics.GrpcMethodIndex("/inventory.v1.CommandService/Reserve");
  EXPECT_NE(reserve, metrics.GrpcMethodIndex("/x.Y/Z"));
  metrics.OnGrpcCall(reserve, 0, 0.001);
  metrics.OnGrpcCall(reserve, 9, 0.001);
  metrics.OnGrpcCall(metrics.GrpcMethodIndex("/x.Y/Z"), 5, 0.001);
  std::string text = registry.Expose();
  const std::string reserve_label = "method=\"/inventory.v1.CommandService/Reserve\"";
  EXPECT_EQ(ValueOf(text, "inventory_grpc_requests_total{" + reserve_label + ",code=\"OK\"}"), 1) << text;
  EXPECT_EQ(ValueOf(text, "inventory_grpc_requests_total{" + reserve_label + ",code=\"FAILED_PRECONDITION\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_grpc_requests_total{method=\"other\",code=\"NOT_FOUND\"}"), 1);
  EXPECT_EQ(ValueOf(text, "inventory_grpc_request_duration_seconds_count{" + reserve_label + "}"), 2);
}

TEST(TraceparentTest, AcceptsW3CAndRefusesTheMalformed) {
  EXPECT_EQ(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(TraceIdOf("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
            "4bf92f3577b34da6a3ce929d0e0e4736") << "a later version may append fields";
  EXPECT_FALSE(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_FALSE(TraceIdOf("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceIdOf("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceIdOf("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceIdOf("garbage"));
}

}  // namespace
}  // namespace metrics
