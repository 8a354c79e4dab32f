// The real inventoryctl binary against an embedded data dir: a history
// decided by the ledger core and appended to a RocksDbLog, which stays OPEN
// (holding RocksDB's LOCK, as a live inventoryd does) while inventoryctl runs.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "base/check.h"
#include "ledger/codec.h"
#include "eventlog/kafka_log.h"
#include "eventlog/rocksdb_log.h"
#include "eventlog/testing/mock_kafka_cluster.h"
#include "projector/projector.h"
#include "projector/store.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "replay/format.h"
#include "replay/test_history.h"

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs inventoryctl with `args`; stdout and stderr go through files in `scratch`.
Result RunCtl(const std::string& scratch, std::vector<std::string> args) {
  args.insert(args.begin(), INVENTORYCTL_PATH);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_path = scratch + "/out", err_path = scratch + "/err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  Result result;
  const int spawned = posix_spawn(&pid, INVENTORYCTL_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "posix_spawn: " << spawned;
    return result;
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

class InventoryctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventlog::RocksDbLogOptions options;
    options.path = dir_.path() + "/data/log";
    options.partition_count = 4;
    std::filesystem::create_directories(dir_.path() + "/data");
    auto log = eventlog::RocksDbLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    history_ = std::make_unique<replay::testing::HistoryGenerator>(log_.get());
    history_->Generate(300, 100);
  }

  // Runs inventoryctl with the data dir and `args`.
  Result Run(std::vector<std::string> args) {
    if (std::find(args.begin(), args.end(), "--data-dir") == args.end()) {
      args.insert(args.begin(), {"--data-dir", dir_.path() + "/data"});
    }
    return RunCtl(dir_.path(), std::move(args));
  }

  replay::testing::TempDir dir_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
  std::unique_ptr<replay::testing::HistoryGenerator> history_;
};

TEST_F(InventoryctlTest, AuditAndVerifyPassOnAHealthyLiveLog) {
  Result audit = Run({"audit", "--no-views"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_THAT(audit.out, StartsWith("audit: OK (0 violations, 0 mismatches)"));
  EXPECT_THAT(audit.out, HasSubstr("events folded: " + std::to_string(history_->events().size())));
  EXPECT_EQ(audit.err, "") << "no progress bar when stderr is not a terminal";
  Result verify = Run({"verify-log", "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("\"clean\":true,\"records\":" + std::to_string(history_->events().size())));
  // The writer is still open and can still append: inventoryctl took no lock.
  EXPECT_TRUE(history_->Run(ledger::RegisterWarehouse{ledger::WarehouseCode("WH-C"), "C", "eu", 3, true}));
}

TEST_F(InventoryctlTest, AuditFailsOnAnInjectedInvariantBreakingEvent) {
  ledger::Event e;
  e.envelope.event_id = {0xabc, 0xdef};
  e.envelope.schema_version = 1;
  e.envelope.command_event_count = 1;
  e.envelope.occurred_at_ms = history_->now_ms() + ledger::DurationMs{1};
  e.envelope.sku = ledger::Sku("SKU-2");
  e.payload = ledger::StockAdjusted{ledger::WarehouseCode("WH-B"), -900'000'000, ledger::AdjustmentReason::kLoss, ""};
  auto forged = log_->Append(std::vector<eventlog::LogRecord>{{"SKU-2", ledger::Encode(e)}});
  ASSERT_TRUE(forged.ok());
  const eventlog::LogPosition at = forged->front();
  Result audit = Run({"audit", "--no-views"});
  EXPECT_EQ(audit.exit_code, 1) << audit.out << audit.err;
  EXPECT_THAT(audit.out, StartsWith("audit: FAILED (1 violations, 0 mismatches)"));
  EXPECT_THAT(audit.out, HasSubstr(std::to_string(at.partition) + ":" + std::to_string(at.offset) +
                                   " invariant event " + e.envelope.event_id.ToHex() + ": event " +
                                   e.envelope.event_id.ToHex() + " breaks an invariant: SKU-2@WH-B would hold on_hand="));
  Result json = Run({"audit", "--no-views", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_THAT(json.out, HasSubstr("\"kind\":\"invariant\",\"partition\":" + std::to_string(at.partition) +
                                  ",\"offset\":" + std::to_string(at.offset)));
}

TEST_F(InventoryctlTest, VerifyLogNamesACorruptedRecord) {
  auto bad = log_->Append(std::vector<eventlog::LogRecord>{{"SKU-7", "not protobuf at all"}});
  ASSERT_TRUE(bad.ok());
  Result verify = Run({"verify-log"});
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("first bad record: partition " + std::to_string(bad->front().partition) +
                                    " offset " + std::to_string(bad->front().offset) + ": undecodable (DATA_LOSS)"));
}

TEST_F(InventoryctlTest, AsOfPrintsTheRecordedStateAtTimesAndPositions) {
  for (const replay::testing::Checkpoint& cp : history_->checkpoints()) {
    std::string expected = replay::testing::RenderStock(cp.state);
    for (const std::string& at :
         {replay::FormatTime(cp.time_ms), std::to_string(ledger::EpochMs(cp.time_ms)), cp.last_positions}) {
      Result as_of = Run({"as-of", at, "--format", "csv"});
      ASSERT_EQ(as_of.exit_code, 0) << at << as_of.err;
      std::string out = as_of.out;
      const size_t blank = out.find("\n\n");  // levels, a blank line, open reservations
      ASSERT_NE(blank, std::string::npos);
      out.erase(blank, 1);
      EXPECT_EQ(out, expected) << "as-of " << at;
    }
  }
  Result filtered = Run({"as-of", replay::FormatTime(history_->now_ms()), "--sku", "SKU-1", "--warehouse", "WH-A"});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  const ledger::StockLevel l = history_->state().Level(ledger::Sku("SKU-1"), ledger::WarehouseCode("WH-A"));
  EXPECT_THAT(filtered.out, HasSubstr("SKU-1     WH-A       " + std::to_string(l.on_hand)));
  EXPECT_THAT(filtered.out, Not(HasSubstr("WH-B")));
}

TEST_F(InventoryctlTest, HistoryListsEveryEventOfTheSkuWithResultingLevels) {
  Result history = Run({"history", "--sku", "SKU-4", "--format", "jsonl"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  size_t expected = 0;
  for (const auto& e : history_->events()) expected += e.event.envelope.sku.value() == "SKU-4" ? 1 : 0;
  size_t lines = 0;
  std::istringstream in(history.out);
  for (std::string line; std::getline(in, line);) {
    ++lines;
    EXPECT_THAT(line, HasSubstr("\"sku\":\"SKU-4\""));
    EXPECT_THAT(line, HasSubstr("\"actor\":\"clerk, \\\"7\\\"\""));
  }
  EXPECT_EQ(lines, expected);
  const ledger::StockLevel l = history_->state().Level(ledger::Sku("SKU-4"), ledger::WarehouseCode("WH-A"));
  EXPECT_THAT(history.out, HasSubstr("\"on_hand\":" + std::to_string(l.on_hand)));
}

TEST_F(InventoryctlTest, ExportWritesEveryEvent) {
  Result csv = Run({"export", "--format", "csv", "--output", dir_.path() + "/events.csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const std::string text = ReadFile(dir_.path() + "/events.csv");
  EXPECT_THAT(text, StartsWith("partition,offset,event_id,occurred_at,"));
  EXPECT_THAT(text, HasSubstr(",\"Berlin, \"\"main\"\"\","));
  Result levels = Run({"export", "--format", "jsonl", "--what", "levels"});
  ASSERT_EQ(levels.exit_code, 0) << levels.err;
  EXPECT_THAT(levels.out, HasSubstr("{\"sku\":\"SKU-0\",\"warehouse\":\"WH-A\",\"on_hand\":"));
}

TEST_F(InventoryctlTest, BadInputIsAClearErrorNotACrash) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"as-of", "yesterday"}, "neither epoch milliseconds nor RFC 3339"},
      {{"as-of", "0:1,7:2"}, "names partition 7; the log has 4"},
      {{"history", "--sku", "SKU-1", "--since", "soon"}, "--since: time 'soon'"},
      {{"export", "--format", "xml"}, "--format must be csv or jsonl"},
      {{"--partitions", "5", "verify-log"}, "created with 4 partitions"},
      {{"--data-dir", "/nonexistent/inventory", "audit"}, "no log at /nonexistent/inventory/log"},
  };
  for (const Case& c : cases) {
    Result r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args[0];
  }
  Result views = Run({"audit"});
  EXPECT_NE(views.exit_code, 0) << "there are no read models in this data dir";
  EXPECT_THAT(views.err, HasSubstr("views"));
}

// Writes a level straight into the views' RocksDB (the byte layout of
// projector/read_models.cc: levels CF, key sku '\0' warehouse, value
// on_hand reserved incoming as be64), as a bug or a bad disk might.
void CorruptLevel(const std::string& views, const std::string& sku, const std::string& warehouse,
                  const ledger::StockLevel& level) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), views, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  rocksdb::DBOptions options;
  options.atomic_flush = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, views, descriptors, &handles, &db).ok());
  const std::string value = projector::EncodeLevel(level);
  const size_t levels = static_cast<size_t>(std::find(names.begin(), names.end(), "levels") - names.begin());
  ASSERT_LT(levels, names.size());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[levels], projector::LevelKey(sku, warehouse), value).ok());
  for (rocksdb::ColumnFamilyHandle* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
  delete db;
}

TEST_F(InventoryctlTest, AuditComparesWithTheLiveProjectorsViewsAndNamesACorruptedLevel) {
  const std::string views = dir_.path() + "/data/views";
  projector::ProjectorOptions options;
  options.path = views;
  {
    auto running = projector::Projector::Start(log_.get(), options);
    ASSERT_TRUE(running.ok()) << running.status();
    ASSERT_TRUE((*running)->WaitCaughtUp(std::chrono::steady_clock::now() + std::chrono::seconds(60)).ok());
    // Beside the live projector (it holds the views' LOCK).
    Result audit = Run({"audit"});
    EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
    EXPECT_THAT(audit.out, StartsWith("audit: OK (0 violations, 0 mismatches)"));
    EXPECT_THAT(audit.out, Not(HasSubstr("not compared")));
    (*running)->Stop();
  }
  const ledger::StockLevel right = history_->state().Level(ledger::Sku("SKU-0"), ledger::WarehouseCode("WH-A"));
  ledger::StockLevel wrong = right;
  wrong.on_hand += 1000;
  CorruptLevel(views, "SKU-0", "WH-A", wrong);
  Result audit = Run({"audit"});
  EXPECT_EQ(audit.exit_code, 1) << audit.out << audit.err;
  EXPECT_THAT(audit.out, StartsWith("audit: FAILED (0 violations, 1 mismatches)"));
  EXPECT_THAT(audit.out, HasSubstr("level SKU-0@WH-A: on_hand: ledger " + std::to_string(right.on_hand) +
                                   ", read model " + std::to_string(wrong.on_hand) + "; available: ledger " +
                                   std::to_string(right.available()) + ", read model " +
                                   std::to_string(wrong.available())));
  Result json = Run({"audit", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_THAT(json.out, HasSubstr("\"mismatches_by_view\":{\"level\":1}"));
}

// The Kafka backend: a librdkafka mock cluster in this process, listening on
// loopback, written by a KafkaLog; inventoryctl reads it as a read-only
// consumer. Offsets there have gaps (transaction markers).
TEST(InventoryctlKafkaTest, AuditVerifyAndAsOfOverKafka) {
  eventlog::MockKafkaCluster cluster;
  cluster.CreateTopic("ctl.events", 4);
  const std::string brokers = cluster.bootstraps();
  replay::testing::TempDir dir;
  {
    eventlog::KafkaLogOptions options;
    options.bootstrap_servers = brokers;
    options.topic = "ctl.events";
    options.partition_count = 4;
    auto log = eventlog::KafkaLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    replay::testing::HistoryGenerator history(log->get());
    history.Generate(120, 60);
    const std::vector<std::string> kafka = {"--log-backend", "kafka", "--kafka-brokers", brokers,
                                            "--kafka-topic", "ctl.events", "--partitions", "4"};
    auto with = [&](std::vector<std::string> args) {
      args.insert(args.begin(), kafka.begin(), kafka.end());
      return RunCtl(dir.path(), std::move(args));
    };
    Result audit = with({"audit", "--no-views"});
    EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
    EXPECT_THAT(audit.out, HasSubstr("events folded: " + std::to_string(history.events().size())));
    Result verify = with({"verify-log"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    const replay::testing::Checkpoint& cp = history.checkpoints().front();
    Result as_of = with({"as-of", std::to_string(ledger::EpochMs(cp.time_ms)), "--format", "csv"});
    ASSERT_EQ(as_of.exit_code, 0) << as_of.err;
    std::string out = as_of.out;
    const size_t blank = out.find("\n\n");
    ASSERT_NE(blank, std::string::npos);
    out.erase(blank, 1);
    EXPECT_EQ(out, replay::testing::RenderStock(cp.state));
    ASSERT_TRUE((*log)->Close().ok());
  }
}

}  // namespace
