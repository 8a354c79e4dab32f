// Unit tests for the single writer (command-api/writer.h): answers only after
// the events are durable, group commit, the queue bound, rejections and
// duplicates riding in a batch, append failures and recovery, restart from
// the log and from snapshots, reservation expiry on a manual clock, draining
// on Stop, and command time taken from the clock.
//
// The log is a MemoryLog behind a FaultLog (eventlog/testing/fault_log.h), which
// counts Appends and can fail or block them. Waits are bounded (kWait) so a
// broken writer fails the test instead of hanging it; nothing sleeps for a TTL.
#include "command-api/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "base/clock.h"
#include "base/testing/temp_dir.h"
#include "command-api/expiry.h"
#include "eventlog/kafka_log.h"
#include "eventlog/rocksdb_log.h"
#include "eventlog/testing/fault_file_system.h"
#include "eventlog/testing/fault_log.h"
#include "eventlog/testing/mock_kafka_cluster.h"
#include "ledger/codec.h"
#include "eventlog/memory_log.h"
#include "ledger/snapshot.h"
#include "ledger/validate.h"

using namespace std::chrono_literals;

namespace command_api {
namespace {

using ledger::Quantity;
using ledger::Sku;
using ledger::WarehouseCode;

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr auto kWait = std::chrono::seconds(5);

// ---- commands ----

ledger::Command Cmd(const std::string& id, ledger::CommandBody body) {
  ledger::Command c;
  c.meta.command_id = ledger::CommandId(id);
  c.meta.actor = "writer-test";
  c.body = std::move(body);
  return c;
}

ledger::CommandBody Receive(const std::string& sku, const std::string& warehouse, Quantity quantity) {
  return ledger::ReceiveStock{Sku(sku), WarehouseCode(warehouse), quantity, "ref"};
}

ledger::CommandBody Reserve(const std::string& reservation, const std::vector<ledger::ReserveLine>& lines,
                            ledger::DurationMs ttl_ms = 15min,
                            ledger::SplitPolicy split = ledger::SplitPolicy::kSingleWarehouse) {
  ledger::Reserve r;
  r.reservation_id = ledger::ReservationId(reservation);
  r.order_id = ledger::OrderId("order-" + reservation.substr(0, 32));
  r.lines = lines;
  r.ttl_ms = ttl_ms;
  r.split = split;
  return r;
}

ledger::ReserveLine Line(const std::string& sku, Quantity quantity) {
  return ledger::ReserveLine{Sku(sku), quantity, WarehouseCode()};
}

// ---- capturing completions ----

struct Slot {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  WriteResult result;
  std::optional<ledger::State> state;
};

Completion Capture(const std::shared_ptr<Slot>& slot, bool keep_state = false) {
  return [slot, keep_state](const WriteResult& result, const ledger::State& state) {
    std::lock_guard<std::mutex> lock(slot->mu);
    ++slot->calls;
    slot->result = result;
    if (keep_state) slot->state = state;
    slot->cv.notify_all();
  };
}

bool WaitCalled(Slot& slot) {
  std::unique_lock<std::mutex> lock(slot.mu);
  return slot.cv.wait_for(lock, kWait, [&] { return slot.calls > 0; });
}

struct Outcome {
  WriteResult result;
  ledger::State state;
};

struct LoggedEvent {
  eventlog::LogPosition position;
  ledger::Event event;
};

// Polls `done` on real time for up to kWait.
template <typename F>
bool Eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

ledger::StockLevel Level(const ledger::State& s, const std::string& sku, const std::string& wh) {
  return s.Level(Sku(sku), WarehouseCode(wh));
}

WriterOptions NoSnapshotOptions() {
  WriterOptions o;
  o.snapshot_every_ms = 0;
  o.snapshot_every_events = 0;
  return o;
}

// Submits to `writer` and waits for the answer; the state is the one the
// completion saw.
Outcome RunOn(Writer& writer, ledger::Command command) {
  auto slot = std::make_shared<Slot>();
  Outcome out;
  absl::Status submitted = writer.Submit(std::move(command), Capture(slot, /*keep_state=*/true));
  if (!submitted.ok()) {
    ADD_FAILURE() << "Submit: " << submitted;
    out.result.status = submitted;
    return out;
  }
  if (!WaitCalled(*slot)) {
    ADD_FAILURE() << "no answer within " << kWait.count() << " s";
    out.result.status = absl::DeadlineExceededError("no answer");
    return out;
  }
  std::lock_guard<std::mutex> lock(slot->mu);
  EXPECT_EQ(slot->calls, 1);
  out.result = slot->result;
  out.state = *slot->state;
  return out;
}

// Every event in `log`, partition by partition.
std::vector<LoggedEvent> ReadAll(eventlog::EventLog& log) {
  std::vector<LoggedEvent> out;
  absl::StatusOr<base::NextOffsets> end = log.EndOffsets();
  EXPECT_TRUE(end.ok()) << end.status();
  if (!end.ok()) return out;
  for (std::uint32_t p = 0; p < end->size(); ++p) {
    std::uint64_t offset = 0;
    while (offset < (*end)[p]) {
      absl::StatusOr<std::vector<eventlog::StoredRecord>> records = log.Read(p, offset, 1000);
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok() || records->empty()) break;
      for (const eventlog::StoredRecord& r : *records) {
        absl::StatusOr<ledger::Event> e = ledger::Decode(r.payload);
        EXPECT_TRUE(e.ok()) << e.status();
        if (e.ok()) out.push_back({r.position, std::move(*e)});
        offset = r.position.offset + 1;
      }
    }
  }
  return out;
}

// The events of `log` that command `command_id` wrote.
std::vector<LoggedEvent> EventsOfIn(eventlog::EventLog& log, const std::string& command_id) {
  std::vector<LoggedEvent> out;
  for (LoggedEvent& e : ReadAll(log)) {
    if (e.event.envelope.command_id.value() == command_id) out.push_back(std::move(e));
  }
  return out;
}

// The writer's state, through a harmless command: one that is rejected
// (unknown transfer), so it appends nothing and changes nothing. `probes`
// numbers the probes' command ids.
ledger::State ProbeOn(Writer& writer, int& probes) {
  Outcome out = RunOn(writer, Cmd("probe-" + std::to_string(++probes), ledger::ReceiveTransfer{ledger::TransferId("none")}));
  EXPECT_EQ(out.result.status.code(), absl::StatusCode::kNotFound) << out.result.status;
  return std::move(out.state);
}

class WriterTest : public ::testing::Test {
 protected:
  WriterTest() : clock_(kT0) {}

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<eventlog::MemoryLog>> log = eventlog::MemoryLog::Open(eventlog::MemoryLogOptions{});
    ASSERT_TRUE(log.ok()) << log.status();
    mem_ = std::move(*log);
    fault_ = std::make_unique<eventlog::FaultLog>(mem_.get());
  }

  void TearDown() override {
    if (fault_) fault_->Release();  // never leave the writer blocked in Append
    writer_.reset();
  }

  static WriterOptions Options() { return NoSnapshotOptions(); }

  void OpenWriter(WriterOptions options = Options(), command_api::SnapshotStore* snapshots = nullptr) {
    absl::StatusOr<std::unique_ptr<Writer>> w = Writer::Open(fault_.get(), snapshots, &clock_, options);
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = std::move(*w);
  }

  // Closes the writer and its log, and opens fresh ones over the same storage.
  void Reopen(WriterOptions options = Options(), command_api::SnapshotStore* snapshots = nullptr) {
    if (writer_) writer_->Stop();
    writer_.reset();
    std::shared_ptr<eventlog::MemoryLogStorage> storage = mem_->storage();
    fault_.reset();
    mem_.reset();
    absl::StatusOr<std::unique_ptr<eventlog::MemoryLog>> log = eventlog::MemoryLog::Open({}, storage);
    ASSERT_TRUE(log.ok()) << log.status();
    mem_ = std::move(*log);
    fault_ = std::make_unique<eventlog::FaultLog>(mem_.get());
    OpenWriter(options, snapshots);
  }

  // Submits and waits for the answer; the state is the one the completion saw.
  Outcome Run(ledger::Command command) { return RunOn(*writer_, std::move(command)); }

  // Runs a command that must be applied (OK, not a duplicate).
  Outcome Accept(const std::string& id, ledger::CommandBody body) {
    Outcome out = Run(Cmd(id, std::move(body)));
    EXPECT_TRUE(out.result.status.ok()) << id << ": " << out.result.status;
    EXPECT_FALSE(out.result.duplicate) << id;
    return out;
  }

  // The writer's state, through a harmless command: one that is rejected
  // (unknown transfer), so it appends nothing and changes nothing.
  ledger::State Probe() { return ProbeOn(*writer_, probes_); }

  // Two warehouses and two items, no stock.
  void Seed() {
    Accept("seed-wh-a", ledger::RegisterWarehouse{WarehouseCode("WH-A"), "Alpha", "eu", 1, true});
    Accept("seed-wh-b", ledger::RegisterWarehouse{WarehouseCode("WH-B"), "Beta", "us", 2, true});
    Accept("seed-sku-1", ledger::CreateItem{Sku("SKU-1"), "Widget", "tools", {}, 0, 0});
    Accept("seed-sku-2", ledger::CreateItem{Sku("SKU-2"), "Gadget", "tools", {}, 0, 0});
  }

  // Every event in the log, partition by partition.
  std::vector<LoggedEvent> ReadLog() { return ReadAll(*mem_); }

  std::vector<LoggedEvent> EventsOf(const std::string& command_id) { return EventsOfIn(*mem_, command_id); }

  // A snapshot store over snapshot_dir_, living as long as the fixture (it
  // must outlive every writer using it).
  command_api::SnapshotStore* NewStore() {
    stores_.push_back(std::make_unique<command_api::SnapshotStore>(snapshot_dir_, command_api::SnapshotStoreOptions{}));
    return stores_.back().get();
  }

  // After an append that reached the log but was answered UNAVAILABLE, the
  // retry of `id` (receiving 5 of SKU-1 at WH-A) is a duplicate covering the
  // logged event, and the stock moved once: on hand 15.
  void ExpectRetryIsADuplicateAppliedOnce(const std::string& id, const LoggedEvent& logged);

  base::TempDir temp_{"writer_test"};
  // Not created yet: the store makes it on its first Save.
  std::filesystem::path snapshot_dir_ = temp_ / "snapshots";
  base::ManualClock clock_;
  std::vector<std::unique_ptr<command_api::SnapshotStore>> stores_;
  std::unique_ptr<eventlog::MemoryLog> mem_;
  std::unique_ptr<eventlog::FaultLog> fault_;
  std::unique_ptr<Writer> writer_;
  int probes_ = 0;
};

// Every position in `original` is covered by `token`: same partition, offset at or past it.
void ExpectCovers(const std::vector<eventlog::LogPosition>& token, const std::vector<eventlog::LogPosition>& original) {
  ASSERT_FALSE(original.empty());
  for (const eventlog::LogPosition& p : original) {
    bool covered = std::any_of(token.begin(), token.end(), [&](const eventlog::LogPosition& q) {
      return q.partition == p.partition && q.offset >= p.offset;
    });
    EXPECT_TRUE(covered) << "position " << p << " not covered by the token";
  }
}

void WriterTest::ExpectRetryIsADuplicateAppliedOnce(const std::string& id, const LoggedEvent& logged) {
  Outcome retry = Run(Cmd(id, Receive("SKU-1", "WH-A", 5)));
  EXPECT_TRUE(retry.result.status.ok()) << retry.result.status;
  EXPECT_TRUE(retry.result.duplicate);
  ExpectCovers(retry.result.positions, {logged.position});
  EXPECT_EQ(Level(retry.state, "SKU-1", "WH-A").on_hand, 15);
  EXPECT_EQ(EventsOf(id).size(), 1u);
}

// ---- durability before the answer ----

TEST_F(WriterTest, AnswersOnlyOnceTheEventsAreInTheLog) {
  OpenWriter();
  Seed();
  Accept("stock-1", Receive("SKU-1", "WH-A", 10));
  Accept("stock-2", Receive("SKU-2", "WH-A", 10));

  // In the completion itself, read the log at the positions it reports.
  struct Seen {
    WriteResult result;
    std::vector<absl::StatusOr<ledger::Event>> events;
    ledger::StockLevel level;
  };
  auto seen = std::make_shared<Seen>();
  auto slot = std::make_shared<Slot>();
  eventlog::MemoryLog* log = mem_.get();
  Completion inner = Capture(slot);
  ASSERT_TRUE(writer_
                  ->Submit(Cmd("res-1", Reserve("R1", {Line("SKU-1", 3), Line("SKU-2", 2)})),
                           [seen, log, inner](const WriteResult& result, const ledger::State& state) {
                             seen->result = result;
                             for (const eventlog::LogPosition& p : result.positions) {
                               absl::StatusOr<std::vector<eventlog::StoredRecord>> r = log->Read(p.partition, p.offset, 1);
                               if (!r.ok()) {
                                 seen->events.push_back(r.status());
                               } else if (r->empty() || (*r)[0].position != p) {
                                 seen->events.push_back(absl::NotFoundError("no record at the position"));
                               } else {
                                 seen->events.push_back(ledger::Decode((*r)[0].payload));
                               }
                             }
                             seen->level = state.Level(Sku("SKU-1"), WarehouseCode("WH-A"));
                             inner(result, state);
                           })
                  .ok());
  ASSERT_TRUE(WaitCalled(*slot));
  ASSERT_TRUE(seen->result.status.ok()) << seen->result.status;
  EXPECT_FALSE(seen->result.duplicate);
  ASSERT_EQ(seen->result.positions.size(), 2u);
  ASSERT_EQ(seen->events.size(), 2u);
  const char* kSkus[] = {"SKU-1", "SKU-2"};
  const Quantity kQuantities[] = {3, 2};
  for (std::uint32_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(seen->events[i].ok()) << seen->events[i].status();
    const ledger::Event& e = *seen->events[i];
    EXPECT_EQ(e.envelope.command_id.value(), "res-1");
    EXPECT_EQ(e.envelope.sku.value(), kSkus[i]);
    EXPECT_EQ(e.envelope.command_event_index, i);
    EXPECT_EQ(e.envelope.command_event_count, 2u);
    EXPECT_EQ(e.envelope.actor, "writer-test");
    const auto* reserved = std::get_if<ledger::ReservationLineReserved>(&e.payload);
    ASSERT_NE(reserved, nullptr) << ledger::KindName(e.payload);
    EXPECT_EQ(reserved->reservation_id.value(), "R1");
    EXPECT_EQ(reserved->quantity, kQuantities[i]);
    EXPECT_EQ(reserved->request_line, i);
    EXPECT_EQ(seen->result.positions[i].partition, eventlog::PartitionFor(kSkus[i], mem_->partition_count()));
  }
  // The state handed to the completion already holds the command's effect.
  EXPECT_EQ(seen->level.reserved, 3);
  EXPECT_EQ(seen->level.available(), 7);
  // And the log holds exactly these events for the command.
  EXPECT_EQ(EventsOf("res-1").size(), 2u);
}

TEST_F(WriterTest, NoAnswerWhileTheAppendIsInFlight) {
  OpenWriter();
  Seed();
  fault_->Block();
  auto slot = std::make_shared<Slot>();
  ASSERT_TRUE(writer_->Submit(Cmd("blocked", Receive("SKU-1", "WH-A", 4)), Capture(slot)).ok());
  ASSERT_TRUE(fault_->WaitForBlocked(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard<std::mutex> lock(slot->mu);
    EXPECT_EQ(slot->calls, 0) << "answered before the append returned";
  }
  EXPECT_TRUE(EventsOf("blocked").empty());
  fault_->Release();
  ASSERT_TRUE(WaitCalled(*slot));
  std::lock_guard<std::mutex> lock(slot->mu);
  EXPECT_TRUE(slot->result.status.ok()) << slot->result.status;
  ASSERT_EQ(slot->result.positions.size(), 1u);
  std::vector<LoggedEvent> events = EventsOf("blocked");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].position, slot->result.positions[0]);
}

// ---- group commit ----

TEST_F(WriterTest, GroupCommitAnswersEveryCommandOnceInOrder) {
  OpenWriter();
  Seed();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::uint64_t appends_before = fault_->append_calls();

  fault_->Block();
  auto blocker = std::make_shared<Slot>();
  ASSERT_TRUE(writer_->Submit(Cmd("blocker", Receive("SKU-1", "WH-A", 1)), Capture(blocker)).ok());
  ASSERT_TRUE(fault_->WaitForBlocked(1));

  std::mutex mu;
  std::vector<std::vector<int>> order(kThreads);
  std::vector<int> calls(kThreads * kPerThread, 0);
  std::vector<WriteResult> results(kThreads * kPerThread);
  std::atomic<int> done{0};
  std::atomic<int> submit_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        absl::Status s = writer_->Submit(Cmd(id, Receive(t % 2 == 0 ? "SKU-1" : "SKU-2", "WH-A", 1)),
                                         [&, t, i](const WriteResult& r, const ledger::State&) {
                                           std::lock_guard<std::mutex> lock(mu);
                                           order[t].push_back(i);
                                           ++calls[t * kPerThread + i];
                                           results[t * kPerThread + i] = r;
                                           done.fetch_add(1);
                                         });
        if (!s.ok()) submit_failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(submit_failures.load(), 0);
  EXPECT_EQ(done.load(), 0) << "answers before the blocked append returned";

  fault_->Release();
  ASSERT_TRUE(WaitCalled(*blocker));
  ASSERT_TRUE(Eventually([&] { return done.load() == kThreads * kPerThread; })) << done.load();

  // One append for the blocker, one for everything queued behind it.
  std::uint64_t appends = fault_->append_calls() - appends_before;
  EXPECT_LT(appends, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(appends, 2u);

  std::lock_guard<std::mutex> lock(mu);
  std::vector<eventlog::LogPosition> all_positions;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(order[t].size(), static_cast<std::size_t>(kPerThread)) << "thread " << t;
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ(order[t][i], i) << "thread " << t << " answered out of submission order";
      EXPECT_EQ(calls[t * kPerThread + i], 1) << "thread " << t << " command " << i;
      const WriteResult& r = results[t * kPerThread + i];
      EXPECT_TRUE(r.status.ok()) << r.status;
      ASSERT_EQ(r.positions.size(), 1u);
      all_positions.push_back(r.positions[0]);
    }
  }
  std::sort(all_positions.begin(), all_positions.end());
  EXPECT_EQ(std::adjacent_find(all_positions.begin(), all_positions.end()), all_positions.end())
      << "two commands were given the same position";

  ledger::State s = Probe();
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").on_hand, 1 + 2 * kPerThread);
  EXPECT_EQ(Level(s, "SKU-2", "WH-A").on_hand, 2 * kPerThread);
}

TEST_F(WriterTest, BatchCommandsMaxSplitsAppends) {
  WriterOptions options = Options();
  options.batch_commands_max = 8;
  OpenWriter(options);
  Seed();
  std::uint64_t appends_before = fault_->append_calls();
  fault_->Block();
  auto blocker = std::make_shared<Slot>();
  ASSERT_TRUE(writer_->Submit(Cmd("blocker", Receive("SKU-1", "WH-A", 1)), Capture(blocker)).ok());
  ASSERT_TRUE(fault_->WaitForBlocked(1));
  std::vector<std::shared_ptr<Slot>> slots;
  std::vector<std::pair<ledger::Command, Completion>> many;
  for (int i = 0; i < 20; ++i) {
    slots.push_back(std::make_shared<Slot>());
    many.emplace_back(Cmd("m-" + std::to_string(i), Receive("SKU-1", "WH-A", 1)), Capture(slots.back()));
  }
  ASSERT_TRUE(writer_->SubmitMany(std::move(many)).ok());
  fault_->Release();
  for (auto& slot : slots) ASSERT_TRUE(WaitCalled(*slot));
  EXPECT_EQ(fault_->append_calls() - appends_before, 1u + 3u) << "20 commands at most 8 per append";
  EXPECT_EQ(Level(Probe(), "SKU-1", "WH-A").on_hand, 21);
}

// ---- queue bound ----

TEST_F(WriterTest, QueueBoundRefusesAndRefusedCompletionsNeverRun) {
  WriterOptions options = Options();
  options.queue_commands_max = 4;
  OpenWriter(options);
  Seed();
  fault_->Block();
  auto blocker = std::make_shared<Slot>();
  ASSERT_TRUE(writer_->Submit(Cmd("blocker", Receive("SKU-1", "WH-A", 1)), Capture(blocker)).ok());
  ASSERT_TRUE(fault_->WaitForBlocked(1));  // taken off the queue: the queue is empty

  std::vector<std::shared_ptr<Slot>> accepted;
  std::vector<std::shared_ptr<Slot>> refused;
  auto submit = [&](const std::string& id) {
    auto slot = std::make_shared<Slot>();
    absl::Status s = writer_->Submit(Cmd(id, Receive("SKU-1", "WH-A", 1)), Capture(slot));
    (s.ok() ? accepted : refused).push_back(slot);
    return s;
  };
  EXPECT_TRUE(submit("q-1").ok());
  EXPECT_TRUE(submit("q-2").ok());
  EXPECT_TRUE(submit("q-3").ok());

  // 3 waiting + 2 > 4: the whole group is refused, none of it queued.
  std::vector<std::pair<ledger::Command, Completion>> pair;
  auto many_a = std::make_shared<Slot>();
  auto many_b = std::make_shared<Slot>();
  pair.emplace_back(Cmd("many-a", Receive("SKU-1", "WH-A", 1)), Capture(many_a));
  pair.emplace_back(Cmd("many-b", Receive("SKU-1", "WH-A", 1)), Capture(many_b));
  absl::Status many = writer_->SubmitMany(std::move(pair));
  EXPECT_EQ(many.code(), absl::StatusCode::kResourceExhausted) << many;
  refused.push_back(many_a);
  refused.push_back(many_b);

  EXPECT_TRUE(submit("q-4").ok()) << "the refused group must not have taken room";
  absl::Status fifth = submit("q-5");
  EXPECT_EQ(fifth.code(), absl::StatusCode::kResourceExhausted) << fifth;
  absl::Status sixth = submit("q-6");
  EXPECT_EQ(sixth.code(), absl::StatusCode::kResourceExhausted) << sixth;
  ASSERT_EQ(accepted.size(), 4u);

  fault_->Release();
  ASSERT_TRUE(WaitCalled(*blocker));
  for (auto& slot : accepted) ASSERT_TRUE(WaitCalled(*slot));
  writer_->Stop();  // everything queued is answered by now; nothing else may run
  for (auto& slot : accepted) {
    std::lock_guard<std::mutex> lock(slot->mu);
    EXPECT_EQ(slot->calls, 1);
    EXPECT_TRUE(slot->result.status.ok()) << slot->result.status;
  }
  for (auto& slot : refused) {
    std::lock_guard<std::mutex> lock(slot->mu);
    EXPECT_EQ(slot->calls, 0) << "a refused command's completion ran";
  }
  for (const char* id : {"q-1", "q-2", "q-3", "q-4"}) EXPECT_EQ(EventsOf(id).size(), 1u) << id;
  for (const char* id : {"q-5", "q-6", "many-a", "many-b"}) EXPECT_TRUE(EventsOf(id).empty()) << id;
}

// ---- rejections and duplicates ----

TEST_F(WriterTest, RejectionRidesInTheBatchAndAppendsNothing) {
  OpenWriter();
  Seed();
  Accept("stock", Receive("SKU-1", "WH-A", 10));
  std::uint64_t appends_before = fault_->append_calls();

  auto a = std::make_shared<Slot>();
  auto bad = std::make_shared<Slot>();
  auto c = std::make_shared<Slot>();
  std::vector<std::pair<ledger::Command, Completion>> batch;
  batch.emplace_back(Cmd("a", Receive("SKU-1", "WH-A", 3)), Capture(a));
  batch.emplace_back(Cmd("bad", Reserve("RB", {Line("SKU-1", 50)})), Capture(bad, /*keep_state=*/true));
  batch.emplace_back(Cmd("c", Receive("SKU-2", "WH-A", 2)), Capture(c));
  ASSERT_TRUE(writer_->SubmitMany(std::move(batch)).ok());
  ASSERT_TRUE(WaitCalled(*a));
  ASSERT_TRUE(WaitCalled(*bad));
  ASSERT_TRUE(WaitCalled(*c));

  EXPECT_EQ(fault_->append_calls() - appends_before, 1u) << "the three commands share one append";
  {
    std::lock_guard<std::mutex> lock(bad->mu);
    const WriteResult& r = bad->result;
    EXPECT_EQ(r.status.code(), absl::StatusCode::kFailedPrecondition) << r.status;
    EXPECT_FALSE(r.duplicate);
    EXPECT_TRUE(r.positions.empty());
    ASSERT_TRUE(r.rejection.has_value());
    EXPECT_EQ(r.rejection->reason, ledger::RejectionReason::kInsufficientStock);
    ASSERT_EQ(r.rejection->lines.size(), 1u);
    EXPECT_EQ(r.rejection->lines[0].line, 0u);
    EXPECT_EQ(r.rejection->lines[0].sku.value(), "SKU-1");
    EXPECT_EQ(r.rejection->lines[0].requested, 50);
    EXPECT_EQ(r.rejection->lines[0].available, 13) << "decided after 'a' in the same batch";
    EXPECT_EQ(bad->state->reservation(ledger::ReservationId("RB")), nullptr);
  }
  for (auto* slot : {a.get(), c.get()}) {
    std::lock_guard<std::mutex> lock(slot->mu);
    EXPECT_TRUE(slot->result.status.ok()) << slot->result.status;
    EXPECT_FALSE(slot->result.rejection.has_value());
    EXPECT_EQ(slot->result.positions.size(), 1u);
  }
  EXPECT_TRUE(EventsOf("bad").empty());
  EXPECT_EQ(EventsOf("a").size(), 1u);
  EXPECT_EQ(EventsOf("c").size(), 1u);

  // A rejected command is not remembered: the same id may carry a fixed request.
  Outcome retry = Accept("bad", Reserve("RB", {Line("SKU-1", 5)}));
  EXPECT_EQ(Level(retry.state, "SKU-1", "WH-A").reserved, 5);
}

TEST_F(WriterTest, DuplicateIsAnsweredWithPositionsCoveringTheOriginal) {
  OpenWriter();
  Seed();
  Outcome original = Accept("dup", Receive("SKU-1", "WH-A", 5));
  ASSERT_EQ(original.result.positions.size(), 1u);
  Accept("later-1", Receive("SKU-1", "WH-A", 1));
  Accept("later-2", Receive("SKU-2", "WH-B", 1));

  Outcome again = Run(Cmd("dup", Receive("SKU-1", "WH-A", 5)));
  EXPECT_TRUE(again.result.status.ok()) << again.result.status;
  EXPECT_TRUE(again.result.duplicate);
  EXPECT_FALSE(again.result.rejection.has_value());
  ExpectCovers(again.result.positions, original.result.positions);
  EXPECT_EQ(Level(again.state, "SKU-1", "WH-A").on_hand, 6) << "applied twice";
  EXPECT_EQ(EventsOf("dup").size(), 1u);

  // Same id, different content: a reused idempotency key, not a duplicate.
  Outcome reused = Run(Cmd("dup", Receive("SKU-1", "WH-A", 6)));
  EXPECT_EQ(reused.result.status.code(), absl::StatusCode::kInvalidArgument) << reused.result.status;
  EXPECT_FALSE(reused.result.duplicate);
  ASSERT_TRUE(reused.result.rejection.has_value());
  EXPECT_EQ(reused.result.rejection->reason, ledger::RejectionReason::kIdempotencyKeyReused);
  EXPECT_EQ(Level(reused.state, "SKU-1", "WH-A").on_hand, 6);
}

TEST_F(WriterTest, DuplicateWithinOneBatchCoversTheOriginal) {
  OpenWriter();
  Seed();
  auto first = std::make_shared<Slot>();
  auto second = std::make_shared<Slot>();
  std::vector<std::pair<ledger::Command, Completion>> batch;
  batch.emplace_back(Cmd("twice", Reserve("RT", {Line("SKU-1", 1)})), Capture(first));
  batch.emplace_back(Cmd("twice", Reserve("RT", {Line("SKU-1", 1)})), Capture(second));
  // The reserve needs stock: receive it first, in the same group.
  batch.insert(batch.begin(), {Cmd("stock", Receive("SKU-1", "WH-B", 3)), nullptr});
  ASSERT_TRUE(writer_->SubmitMany(std::move(batch)).ok());
  ASSERT_TRUE(WaitCalled(*first));
  ASSERT_TRUE(WaitCalled(*second));
  std::scoped_lock lock(first->mu, second->mu);
  ASSERT_TRUE(first->result.status.ok()) << first->result.status;
  EXPECT_FALSE(first->result.duplicate);
  EXPECT_TRUE(second->result.status.ok()) << second->result.status;
  EXPECT_TRUE(second->result.duplicate);
  ExpectCovers(second->result.positions, first->result.positions);
  EXPECT_EQ(EventsOf("twice").size(), 1u);
}

// ---- append failures ----

TEST_F(WriterTest, FailedAppendAnswersUnavailableAndStateIsRebuilt) {
  OpenWriter();
  Seed();
  Accept("stock", Receive("SKU-1", "WH-A", 10));

  fault_->FailNext(1);
  auto f1 = std::make_shared<Slot>();
  auto f2 = std::make_shared<Slot>();
  std::vector<std::pair<ledger::Command, Completion>> batch;
  batch.emplace_back(Cmd("f1", Receive("SKU-1", "WH-A", 5)), Capture(f1));
  batch.emplace_back(Cmd("f2", Reserve("RF", {Line("SKU-1", 3)})), Capture(f2));
  ASSERT_TRUE(writer_->SubmitMany(std::move(batch)).ok());
  ASSERT_TRUE(WaitCalled(*f1));
  ASSERT_TRUE(WaitCalled(*f2));
  EXPECT_EQ(fault_->failed_appends(), 1u);
  for (auto* slot : {f1.get(), f2.get()}) {
    std::lock_guard<std::mutex> lock(slot->mu);
    EXPECT_EQ(slot->calls, 1);
    EXPECT_EQ(slot->result.status.code(), absl::StatusCode::kUnavailable) << slot->result.status;
    EXPECT_TRUE(slot->result.positions.empty());
    EXPECT_FALSE(slot->result.duplicate);
  }
  EXPECT_TRUE(EventsOf("f1").empty());
  EXPECT_TRUE(EventsOf("f2").empty());

  // The next command sees the state without the failed batch.
  ledger::State s = Probe();
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").on_hand, 10);
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").reserved, 0);
  EXPECT_EQ(s.reservation(ledger::ReservationId("RF")), nullptr);
  EXPECT_EQ(s.command(ledger::CommandId("f1")), nullptr);
  EXPECT_FALSE(writer_->NextExpiryMs().has_value()) << "the failed reservation's expiry is still published";

  // The client's retries are decided afresh and applied once.
  Outcome r1 = Accept("f1", Receive("SKU-1", "WH-A", 5));
  EXPECT_EQ(Level(r1.state, "SKU-1", "WH-A").on_hand, 15);
  Outcome r2 = Accept("f2", Reserve("RF", {Line("SKU-1", 3)}));
  EXPECT_EQ(Level(r2.state, "SKU-1", "WH-A").reserved, 3);
  EXPECT_EQ(EventsOf("f1").size(), 1u);
  EXPECT_EQ(EventsOf("f2").size(), 1u);
}

TEST_F(WriterTest, FailedChunkMidBatchLeavesLaterChunksApplied) {
  WriterOptions options = Options();
  // Room for the largest command plus one event: two one-event commands per append.
  options.batch_events_max = ledger::kReservationAllocationsMax + 1;
  OpenWriter(options);
  Seed();
  fault_->FailNext(1);
  std::vector<std::shared_ptr<Slot>> slots;
  std::vector<std::pair<ledger::Command, Completion>> batch;
  for (int i = 0; i < 4; ++i) {
    slots.push_back(std::make_shared<Slot>());
    batch.emplace_back(Cmd("c-" + std::to_string(i), Receive("SKU-1", "WH-A", 1 << i)), Capture(slots.back()));
  }
  ASSERT_TRUE(writer_->SubmitMany(std::move(batch)).ok());
  for (auto& slot : slots) ASSERT_TRUE(WaitCalled(*slot));
  for (int i = 0; i < 4; ++i) {
    std::lock_guard<std::mutex> lock(slots[i]->mu);
    EXPECT_EQ(slots[i]->result.status.code(), i < 2 ? absl::StatusCode::kUnavailable : absl::StatusCode::kOk)
        << i << ": " << slots[i]->result.status;
  }
  ledger::State s = Probe();
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").on_hand, 4 + 8) << "only the second chunk's commands count";
  EXPECT_TRUE(EventsOf("c-0").empty());
  EXPECT_EQ(EventsOf("c-3").size(), 1u);
}

TEST_F(WriterTest, EveryNthAppendFailingKeepsStateExact) {
  OpenWriter();
  Seed();
  fault_->FailEveryNth(3);
  Quantity expected = 0;
  int failed = 0;
  for (int i = 0; i < 9; ++i) {
    Outcome out = Run(Cmd("n-" + std::to_string(i), Receive("SKU-1", "WH-A", i + 1)));
    if (out.result.status.ok()) {
      expected += i + 1;
      EXPECT_EQ(EventsOf("n-" + std::to_string(i)).size(), 1u);
    } else {
      EXPECT_EQ(out.result.status.code(), absl::StatusCode::kUnavailable) << out.result.status;
      EXPECT_TRUE(EventsOf("n-" + std::to_string(i)).empty());
      ++failed;
    }
  }
  EXPECT_EQ(failed, 3);
  fault_->FailEveryNth(0);
  EXPECT_EQ(Level(Probe(), "SKU-1", "WH-A").on_hand, expected);
}

TEST_F(WriterTest, FailAfterDurableRetryIsDuplicateAndAppliedOnce) {
  OpenWriter();
  Seed();
  Accept("stock", Receive("SKU-1", "WH-A", 10));

  fault_->FailAfterDurableNext(1);
  Outcome lost = Run(Cmd("fd-1", Receive("SKU-1", "WH-A", 5)));
  EXPECT_EQ(lost.result.status.code(), absl::StatusCode::kUnavailable) << lost.result.status;
  std::vector<LoggedEvent> in_log = EventsOf("fd-1");
  ASSERT_EQ(in_log.size(), 1u) << "the append was durable";
  ExpectRetryIsADuplicateAppliedOnce("fd-1", in_log[0]);

  // The same for a reservation: reserved exactly once.
  fault_->FailAfterDurableNext(1);
  Outcome lost_reserve = Run(Cmd("fd-2", Reserve("RD", {Line("SKU-1", 4)})));
  EXPECT_EQ(lost_reserve.result.status.code(), absl::StatusCode::kUnavailable);
  Outcome retry_reserve = Run(Cmd("fd-2", Reserve("RD", {Line("SKU-1", 4)})));
  EXPECT_TRUE(retry_reserve.result.status.ok()) << retry_reserve.result.status;
  EXPECT_TRUE(retry_reserve.result.duplicate);
  EXPECT_EQ(Level(retry_reserve.state, "SKU-1", "WH-A").reserved, 4);
  EXPECT_EQ(Level(retry_reserve.state, "SKU-1", "WH-A").on_hand, 15);
  EXPECT_EQ(EventsOf("fd-2").size(), 1u);
}

TEST_F(WriterTest, AppendWithTooFewPositionsIsAFailedAppendAndTheRetryADuplicate) {
  OpenWriter();
  Seed();
  Accept("stock", Receive("SKU-1", "WH-A", 10));

  fault_->DropPositionNext(1);
  Outcome short_answer = Run(Cmd("dp-1", Receive("SKU-1", "WH-A", 5)));
  EXPECT_EQ(short_answer.result.status.code(), absl::StatusCode::kUnavailable) << short_answer.result.status;
  EXPECT_NE(short_answer.result.status.message().find("1 records"), std::string::npos) << short_answer.result.status;
  EXPECT_TRUE(short_answer.result.positions.empty()) << "no answer built from a mismatched position list";
  std::vector<LoggedEvent> in_log = EventsOf("dp-1");
  ASSERT_EQ(in_log.size(), 1u) << "the log took the record";

  // The state was rebuilt from the log: the retry is a duplicate, applied once.
  ExpectRetryIsADuplicateAppliedOnce("dp-1", in_log[0]);
}

// ---- fenced: the log refuses appends for good ----

// On Kafka, a newer writer took the transactional id (eventlog/event_log.h
// "Refused for good"). The append in flight and everything after it are
// answered FAILED_PRECONDITION naming the fencing; the writer never touches
// the log again (no retry, no rebuild, no snapshot of a state the log may
// not hold) and tells its owner once.
TEST_F(WriterTest, FencedWriterRefusesEverythingForGoodAndSaysSoOnce) {
  std::mutex fenced_mu;
  std::vector<absl::Status> fenced_calls;
  WriterOptions options = Options();
  options.on_fenced = [&](const absl::Status& cause) {
    std::lock_guard<std::mutex> lock(fenced_mu);
    fenced_calls.push_back(cause);
  };
  command_api::SnapshotStore* store = NewStore();
  OpenWriter(options, store);
  Seed();
  Accept("stock", Receive("SKU-1", "WH-A", 10));
  Accept("held", Reserve("R-HELD", {Line("SKU-1", 2)}, 1min));
  EXPECT_TRUE(writer_->fenced().ok());

  // One append in flight, two commands queued behind it; then the fencing.
  fault_->Block();
  auto in_flight = std::make_shared<Slot>();
  ASSERT_TRUE(writer_->Submit(Cmd("in-flight", Receive("SKU-1", "WH-A", 1)), Capture(in_flight)).ok());
  ASSERT_TRUE(fault_->WaitForBlocked(1));
  auto queued_a = std::make_shared<Slot>();
  auto queued_b = std::make_shared<Slot>();
  std::vector<std::pair<ledger::Command, Completion>> queued;
  queued.emplace_back(Cmd("queued-a", Receive("SKU-2", "WH-A", 1)), Capture(queued_a));
  queued.emplace_back(Cmd("queued-b", Reserve("R-Q", {Line("SKU-1", 1)})), Capture(queued_b));
  ASSERT_TRUE(writer_->SubmitMany(std::move(queued)).ok());
  const std::uint64_t calls_before = fault_->append_calls();
  fault_->FenceFromNow();
  fault_->Release();

  for (auto* slot : {in_flight.get(), queued_a.get(), queued_b.get()}) {
    ASSERT_TRUE(WaitCalled(*slot));
    std::lock_guard<std::mutex> lock(slot->mu);
    EXPECT_EQ(slot->calls, 1);
    EXPECT_EQ(slot->result.status.code(), absl::StatusCode::kFailedPrecondition) << slot->result.status;
    EXPECT_THAT(std::string(slot->result.status.message()), ::testing::HasSubstr("fenced by another writer"));
    EXPECT_THAT(std::string(slot->result.status.message()), ::testing::HasSubstr("send the command to the current writer"));
    EXPECT_FALSE(slot->result.rejection.has_value());
    EXPECT_TRUE(slot->result.positions.empty());
  }
  EXPECT_EQ(writer_->fenced().code(), absl::StatusCode::kFailedPrecondition);

  // Later commands are refused at Submit; their completions never run.
  auto later = std::make_shared<Slot>();
  absl::Status refused = writer_->Submit(Cmd("later", Receive("SKU-1", "WH-A", 1)), Capture(later));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr("fenced by another writer"));
  // An expiry falling due is answered the same way, without an append.
  clock_.Advance(120'000);
  writer_->ExpireDue();
  writer_->Stop();
  {
    std::lock_guard<std::mutex> lock(later->mu);
    EXPECT_EQ(later->calls, 0);
  }
  EXPECT_EQ(fault_->append_calls() - calls_before, 0u) << "the fenced writer appended again (retry, expiry)";
  EXPECT_EQ(fault_->inner_appends(), 6u) << "4 seed commands, the stock, the reservation";
  {
    std::lock_guard<std::mutex> lock(fenced_mu);
    ASSERT_EQ(fenced_calls.size(), 1u) << "on_fenced runs once";
    EXPECT_EQ(fenced_calls[0], writer_->fenced());
  }
  EXPECT_EQ(writer_->stats().snapshots, 0u) << "a fenced writer must not snapshot the state it folded";
  EXPECT_EQ(store->LoadNewest(options.ledger).status().code(), absl::StatusCode::kNotFound);

  // The current writer (here: a new one over the same log) takes the same
  // command ids afresh.
  Reopen();
  Outcome retried = Accept("in-flight", Receive("SKU-1", "WH-A", 1));
  EXPECT_EQ(Level(retried.state, "SKU-1", "WH-A").on_hand, 11);
  EXPECT_TRUE(writer_->fenced().ok());
}

// ---- restart ----

TEST_F(WriterTest, RestartFromTheLogRebuildsTheSameState) {
  OpenWriter();
  Seed();
  Accept("s1", Receive("SKU-1", "WH-A", 10));
  Accept("s2", Receive("SKU-1", "WH-B", 7));
  Accept("s3", Receive("SKU-2", "WH-B", 4));
  Accept("r1", Reserve("R1", {Line("SKU-1", 12)}, 60'000ms, ledger::SplitPolicy::kAllowSplit));
  Accept("r2", Reserve("R2", {Line("SKU-2", 1)}));
  Accept("c2", ledger::CommitReservation{ledger::ReservationId("R2")});
  Accept("x1", ledger::ShipTransfer{ledger::TransferId("T1"), Sku("SKU-2"), WarehouseCode("WH-B"),
                                    WarehouseCode("WH-A"), 2});
  ledger::State before = Probe();
  std::size_t total = ReadLog().size();

  Reopen();
  ledger::State after = Probe();
  EXPECT_TRUE(after == before) << "restart changed the state";
  EXPECT_EQ(Level(after, "SKU-1", "WH-A").reserved + Level(after, "SKU-1", "WH-B").reserved, 12);
  EXPECT_EQ(Level(after, "SKU-2", "WH-B").on_hand, 1);
  EXPECT_EQ(Level(after, "SKU-2", "WH-A").incoming, 2);
  WriterStats stats = writer_->stats();
  EXPECT_FALSE(stats.loaded_snapshot);
  EXPECT_EQ(stats.replayed_events, total);
  EXPECT_EQ(writer_->NextExpiryMs(), std::optional<std::int64_t>(kT0 + 60'000)) << "R1's expiry after replay";
  // Idempotency survives the restart.
  Outcome dup = Run(Cmd("s1", Receive("SKU-1", "WH-A", 10)));
  EXPECT_TRUE(dup.result.duplicate);
  EXPECT_EQ(Level(dup.state, "SKU-1", "WH-A").on_hand, 10);
}

// Start-up replay aborts on a record that does not decode (ErrorPolicy::kAbort):
// the writer must not decide from a state that skipped part of the log.
TEST_F(WriterTest, RestartRefusesALogRecordThatDoesNotDecodeAndNamesIt) {
  OpenWriter();
  Seed();
  writer_->Stop();
  writer_.reset();
  std::vector<eventlog::LogRecord> junk = {{"SKU-1", "\xff\xfe not an event"}};
  absl::StatusOr<std::vector<eventlog::LogPosition>> at = mem_->Append(junk);
  ASSERT_TRUE(at.ok()) << at.status();
  absl::StatusOr<std::unique_ptr<Writer>> w = Writer::Open(fault_.get(), nullptr, &clock_, Options());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDataLoss) << w.status();
  const std::string named = "log record " + std::to_string(at->front().partition) + ":" +
                            std::to_string(at->front().offset) + ": event record: does not parse";
  EXPECT_NE(std::string(w.status().message()).find(named), std::string::npos) << w.status();
}

std::uint64_t EventsNamed(const std::filesystem::path& file) {
  // snapshot-<events_applied, 20 digits>.snap
  std::string name = file.filename().string();
  return std::stoull(name.substr(std::string("snapshot-").size(), 20));
}

TEST_F(WriterTest, RestartLoadsTheSnapshotAndReplaysOnlyTheTail) {
  WriterOptions options = Options();
  options.snapshot_every_events = 5;
  command_api::SnapshotStore* store = NewStore();
  OpenWriter(options, store);
  Seed();
  for (int i = 0; i < 20; ++i) Accept("s-" + std::to_string(i), Receive(i % 2 ? "SKU-1" : "SKU-2", "WH-A", i + 1));
  Accept("r", Reserve("R", {Line("SKU-1", 3)}));
  writer_->Stop();
  EXPECT_GE(writer_->stats().snapshots, 1u);

  // A tail the snapshots do not cover: written by a writer without a store.
  Reopen(Options(), nullptr);
  Accept("tail-1", Receive("SKU-1", "WH-B", 2));
  Accept("tail-2", ledger::CommitReservation{ledger::ReservationId("R")});
  ledger::State expected = Probe();
  std::size_t total = ReadLog().size();
  ASSERT_EQ(expected.events_applied(), total);

  command_api::SnapshotStore* store2 = NewStore();
  Reopen(options, store2);
  WriterStats stats = writer_->stats();
  EXPECT_TRUE(stats.loaded_snapshot);
  EXPECT_EQ(stats.replayed_events, 2u) << "only the two tail events";
  EXPECT_LT(stats.replayed_events, total);
  ledger::State after = Probe();
  EXPECT_TRUE(after == expected) << "snapshot + tail differs from the full history";
  EXPECT_EQ(Level(after, "SKU-1", "WH-A").on_hand, 2 + 4 + 6 + 8 + 10 + 12 + 14 + 16 + 18 + 20 - 3);
  EXPECT_EQ(Level(after, "SKU-1", "WH-A").reserved, 0);
  EXPECT_EQ(Level(after, "SKU-1", "WH-B").on_hand, 2);
}

TEST_F(WriterTest, CorruptNewestSnapshotIsSkipped) {
  WriterOptions options = Options();
  options.snapshot_every_events = 3;
  command_api::SnapshotStore* store = NewStore();
  OpenWriter(options, store);
  Seed();
  for (int i = 0; i < 15; ++i) Accept("s-" + std::to_string(i), Receive("SKU-1", i % 2 ? "WH-A" : "WH-B", 1));
  ledger::State expected = Probe();
  writer_->Stop();
  std::size_t total = ReadLog().size();

  absl::StatusOr<std::vector<std::filesystem::path>> files = store->List();
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_GE(files->size(), 2u);
  const std::filesystem::path newest = files->back();
  const std::uint64_t older_events = EventsNamed((*files)[files->size() - 2]);
  EXPECT_EQ(EventsNamed(newest), total) << "Stop writes a final snapshot";
  ASSERT_LT(older_events, total);
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open());
    auto size = static_cast<std::streamoff>(std::filesystem::file_size(newest));
    for (std::streamoff at : {size / 2, size - 1}) {
      f.seekg(at);
      char byte = 0;
      f.read(&byte, 1);
      byte = static_cast<char>(byte ^ 0x5a);
      f.seekp(at);
      f.write(&byte, 1);
    }
  }

  command_api::SnapshotStore* store2 = NewStore();
  Reopen(options, store2);
  WriterStats stats = writer_->stats();
  EXPECT_TRUE(stats.loaded_snapshot) << "the older snapshot should load";
  EXPECT_EQ(stats.replayed_events, total - older_events);
  ledger::State after = Probe();
  EXPECT_TRUE(after == expected);
  EXPECT_EQ(Level(after, "SKU-1", "WH-A").on_hand, 7);
  EXPECT_EQ(Level(after, "SKU-1", "WH-B").on_hand, 8);
  writer_->Stop();

  // Every snapshot damaged: the start replays the whole log.
  absl::StatusOr<std::vector<std::filesystem::path>> all = store2->List();
  ASSERT_TRUE(all.ok());
  for (const std::filesystem::path& file : *all) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << "garbage";
  }
  command_api::SnapshotStore* store3 = NewStore();
  Reopen(Options(), store3);
  EXPECT_FALSE(writer_->stats().loaded_snapshot);
  EXPECT_EQ(writer_->stats().replayed_events, total);
  EXPECT_TRUE(Probe() == expected);
}

// ---- expiry ----

TEST_F(WriterTest, ReservationExpiresOnceOnTheManualClock) {
  OpenWriter();
  Seed();
  Accept("stock-a", Receive("SKU-1", "WH-A", 2));
  Accept("stock-b", Receive("SKU-1", "WH-B", 3));
  // 4 units: no warehouse holds them alone, so two allocations.
  Outcome reserved = Accept("reserve", Reserve("RX", {Line("SKU-1", 4)}, 60'000ms, ledger::SplitPolicy::kAllowSplit));
  const ledger::ReservationState* rx = reserved.state.reservation(ledger::ReservationId("RX"));
  ASSERT_NE(rx, nullptr);
  const std::size_t allocations = rx->allocations.size();
  ASSERT_EQ(allocations, 2u);
  EXPECT_EQ(reserved.state.TotalLevel(Sku("SKU-1")).available(), 1);
  EXPECT_EQ(writer_->NextExpiryMs(), std::optional<std::int64_t>(kT0 + 60'000));

  ExpiryOptions expiry_options;
  expiry_options.poll_interval_ms = 20;
  ExpiryScheduler scheduler(writer_.get(), &clock_, expiry_options);
  scheduler.Start();

  auto status_of_rx = [&](const ledger::State& s) {
    const ledger::ReservationState* r = s.reservation(ledger::ReservationId("RX"));
    return r == nullptr ? ledger::ReservationStatus::kReleased : r->status();
  };

  // 59 s and then 59.999 s: not yet. Force an expiry pass too, so the check
  // does not depend on the scheduler's timing.
  for (std::int64_t step : {59'000, 999}) {
    clock_.Advance(step);
    writer_->ExpireDue();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // a few scheduler polls
    ledger::State s = Probe();
    EXPECT_EQ(status_of_rx(s), ledger::ReservationStatus::kActive) << "at +" << clock_.NowMs() - kT0 << " ms";
    EXPECT_EQ(s.TotalLevel(Sku("SKU-1")).reserved, 4);
    EXPECT_EQ(writer_->NextExpiryMs(), std::optional<std::int64_t>(kT0 + 60'000));
  }

  // Exactly at expiry: the scheduler expires it.
  clock_.Advance(1);
  ASSERT_TRUE(Eventually([&] { return !writer_->NextExpiryMs().has_value(); })) << "never expired";
  ledger::State s = Probe();
  EXPECT_EQ(status_of_rx(s), ledger::ReservationStatus::kExpired);
  EXPECT_EQ(s.TotalLevel(Sku("SKU-1")).reserved, 0);
  EXPECT_EQ(s.TotalLevel(Sku("SKU-1")).available(), 5) << "stock returns";
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").available(), 2);
  EXPECT_EQ(Level(s, "SKU-1", "WH-B").available(), 3);

  // More passes and more time change nothing.
  writer_->ExpireDue();
  writer_->ExpireDue();
  clock_.Advance(10'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ledger::State later = Probe();
  EXPECT_TRUE(later == s) << "a second expiry changed the state";
  scheduler.Stop();

  std::vector<int> expired_per_allocation(allocations, 0);
  for (const LoggedEvent& e : ReadLog()) {
    const auto* expired = std::get_if<ledger::ReservationExpired>(&e.event.payload);
    if (expired == nullptr) continue;
    EXPECT_EQ(expired->reservation_id.value(), "RX");
    ASSERT_LT(expired->allocation_index, allocations);
    ++expired_per_allocation[expired->allocation_index];
    EXPECT_EQ(ledger::EpochMs(e.event.envelope.occurred_at_ms), kT0 + 60'000) << "expired at the clock's time";
  }
  for (std::size_t i = 0; i < allocations; ++i) {
    EXPECT_EQ(expired_per_allocation[i], 1) << "allocation " << i;
  }
}

// A reservation id may be as long as any id (kIdLengthMax). The writer's
// expiry command is named "expire/<reservation id>", which must itself be a
// valid command id; this drives one expiry pass directly (no scheduler) and
// checks the reservation expired.
TEST_F(WriterTest, ReservationWithTheLongestValidIdExpires) {
  OpenWriter();
  Seed();
  Accept("stock", Receive("SKU-1", "WH-A", 5));
  const std::string long_id(ledger::kIdLengthMax, 'r');
  Outcome reserved = Accept("reserve-long", Reserve(long_id, {Line("SKU-1", 5)}, 60'000ms));
  ASSERT_NE(reserved.state.reservation(ledger::ReservationId(long_id)), nullptr);
  // A control with a short id, due at the same time.
  Accept("stock-2", Receive("SKU-2", "WH-A", 2));
  Accept("reserve-short", Reserve("RS", {Line("SKU-2", 2)}, 60'000ms));
  clock_.Advance(60'000);
  writer_->ExpireDue();
  ledger::State s = Probe();  // decided after the expiry pass
  const ledger::ReservationState* control = s.reservation(ledger::ReservationId("RS"));
  ASSERT_NE(control, nullptr);
  ASSERT_EQ(control->status(), ledger::ReservationStatus::kExpired) << "the expiry pass did not run";
  const ledger::ReservationState* r = s.reservation(ledger::ReservationId(long_id));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status(), ledger::ReservationStatus::kExpired)
      << "a due reservation with a " << long_id.size() << "-character id never expires";
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").available(), 5) << "its stock stays held";
  EXPECT_FALSE(writer_->NextExpiryMs().has_value());
}

TEST_F(WriterTest, ExpiryAfterRestartComesFromTheLog) {
  OpenWriter();
  Seed();
  Accept("stock", Receive("SKU-2", "WH-A", 6));
  Accept("reserve", Reserve("RY", {Line("SKU-2", 6)}, 60'000ms));
  Reopen();
  EXPECT_EQ(writer_->NextExpiryMs(), std::optional<std::int64_t>(kT0 + 60'000));
  ExpiryOptions expiry_options;
  expiry_options.poll_interval_ms = 20;
  ExpiryScheduler scheduler(writer_.get(), &clock_, expiry_options);
  scheduler.Start();
  clock_.Advance(61'000);
  ASSERT_TRUE(Eventually([&] { return !writer_->NextExpiryMs().has_value(); }));
  scheduler.Stop();
  EXPECT_EQ(Level(Probe(), "SKU-2", "WH-A").available(), 6);
  EXPECT_EQ(EventsOf("expire/RY").size(), 1u);
}

// ---- stop ----

TEST_F(WriterTest, StopAnswersEverythingQueuedAndThenRefuses) {
  OpenWriter();
  Seed();
  fault_->Block();
  std::vector<std::shared_ptr<Slot>> accepted;
  auto blocker = std::make_shared<Slot>();
  ASSERT_TRUE(writer_->Submit(Cmd("blocker", Receive("SKU-1", "WH-A", 1)), Capture(blocker)).ok());
  accepted.push_back(blocker);
  ASSERT_TRUE(fault_->WaitForBlocked(1));
  for (int i = 0; i < 10; ++i) {
    auto slot = std::make_shared<Slot>();
    ASSERT_TRUE(writer_->Submit(Cmd("q-" + std::to_string(i), Receive("SKU-1", "WH-A", 1)), Capture(slot)).ok());
    accepted.push_back(slot);
  }

  std::thread stopper([&] { writer_->Stop(); });
  // Until Stop has begun, Submits still queue (and must be answered too).
  int n = 0;
  absl::Status s;
  auto deadline = std::chrono::steady_clock::now() + kWait;
  for (;;) {
    auto slot = std::make_shared<Slot>();
    s = writer_->Submit(Cmd("late-" + std::to_string(n++), Receive("SKU-1", "WH-A", 1)), Capture(slot));
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(slot->mu);
      EXPECT_EQ(slot->calls, 0);
      break;
    }
    accepted.push_back(slot);
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  fault_->Release();
  stopper.join();

  for (std::size_t i = 0; i < accepted.size(); ++i) {
    std::lock_guard<std::mutex> lock(accepted[i]->mu);
    EXPECT_EQ(accepted[i]->calls, 1) << "command " << i << " queued before Stop";
    EXPECT_TRUE(accepted[i]->result.status.ok()) << accepted[i]->result.status;
  }
  std::size_t receives = 0;
  for (const LoggedEvent& e : ReadLog()) receives += std::holds_alternative<ledger::StockReceived>(e.event.payload);
  EXPECT_EQ(receives, accepted.size());

  auto after = std::make_shared<Slot>();
  absl::Status refused = writer_->Submit(Cmd("after-stop", Receive("SKU-1", "WH-A", 1)), Capture(after));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  std::vector<std::pair<ledger::Command, Completion>> many;
  many.emplace_back(Cmd("after-stop-2", Receive("SKU-1", "WH-A", 1)), Capture(after));
  EXPECT_EQ(writer_->SubmitMany(std::move(many)).code(), absl::StatusCode::kUnavailable);
  writer_->Stop();  // idempotent
  std::lock_guard<std::mutex> lock(after->mu);
  EXPECT_EQ(after->calls, 0);
}

// ---- time ----

TEST_F(WriterTest, CommandTimeComesFromTheClock) {
  OpenWriter();
  Seed();
  clock_.Set(kT0 + 5);
  Outcome first = Accept("at-5", Receive("SKU-1", "WH-A", 5));
  clock_.Set(kT0 + 70'000);
  Outcome reserve = Accept("at-70", Reserve("RT", {Line("SKU-1", 1)}, 30'000ms));
  std::vector<LoggedEvent> a = EventsOf("at-5");
  std::vector<LoggedEvent> b = EventsOf("at-70");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(ledger::EpochMs(a[0].event.envelope.occurred_at_ms), kT0 + 5);
  EXPECT_EQ(ledger::EpochMs(b[0].event.envelope.occurred_at_ms), kT0 + 70'000);
  const auto* line = std::get_if<ledger::ReservationLineReserved>(&b[0].event.payload);
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(ledger::EpochMs(line->expires_at_ms), kT0 + 70'000 + 30'000);
  const ledger::ReservationState* r = reserve.state.reservation(ledger::ReservationId("RT"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(ledger::EpochMs(r->created_at_ms), kT0 + 70'000);
  for (const LoggedEvent& e : EventsOf("seed-wh-a")) EXPECT_EQ(ledger::EpochMs(e.event.envelope.occurred_at_ms), kT0);

  // A clock that steps back does not take event time back with it.
  clock_.Set(kT0 + 1'000);
  Accept("stepped-back", Receive("SKU-1", "WH-A", 1));
  std::vector<LoggedEvent> c = EventsOf("stepped-back");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(ledger::EpochMs(c[0].event.envelope.occurred_at_ms), kT0 + 70'000);
}

// ---- the writer over a real log, with faults under it ----
//
// One fixture per log (the embedded RocksDbLog on a failing disk, the Kafka
// log on a mock broker with faults), sharing how the writer is opened,
// driven and inspected: OpenLog is theirs, the rest is here.
class WriterOverRealLog : public ::testing::Test {
 protected:
  WriterOverRealLog() : clock_(kT0) {}
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  virtual absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenLog() = 0;

  void Open() {
    absl::StatusOr<std::unique_ptr<eventlog::EventLog>> log = OpenLog();
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    absl::StatusOr<std::unique_ptr<Writer>> w = Writer::Open(log_.get(), nullptr, &clock_, NoSnapshotOptions());
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = std::move(*w);
  }
  void Close() {
    if (writer_) writer_->Stop();
    writer_.reset();
    if (log_) log_->Close().IgnoreError();
    log_.reset();
  }

  Outcome Run(const std::string& id, ledger::CommandBody body) { return RunOn(*writer_, Cmd(id, std::move(body))); }

  // The client's retry loop once the fault is gone: the first answer may
  // still be UNAVAILABLE (the log learning that a failed write landed after
  // all); the second must be OK.
  Outcome RetryUntilOk(const std::string& id, const ledger::CommandBody& body) {
    Outcome out = Run(id, body);
    if (out.result.status.code() == absl::StatusCode::kUnavailable) out = Run(id, body);
    EXPECT_TRUE(out.result.status.ok()) << id << ": " << out.result.status;
    return out;
  }

  std::size_t EventsOf(const std::string& command_id) { return EventsOfIn(*log_, command_id).size(); }
  ledger::State Probe() { return ProbeOn(*writer_, probes_); }

  void Seed() {
    ASSERT_TRUE(Run("seed-wh", ledger::RegisterWarehouse{WarehouseCode("WH-A"), "Alpha", "eu", 1, true}).result.status.ok());
    ASSERT_TRUE(Run("seed-sku", ledger::CreateItem{Sku("SKU-1"), "Widget", "tools", {}, 0, 0}).result.status.ok());
    ASSERT_TRUE(Run("stock", Receive("SKU-1", "WH-A", 10)).result.status.ok());
  }

  base::ManualClock clock_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<Writer> writer_;
  int probes_ = 0;
};

// ---- the embedded log on a failing disk ----
//
// The writer over the real RocksDbLog on a fault-injecting file system
// (eventlog/testing/fault_file_system.h): while fsync or writes fail, every
// command is answered UNAVAILABLE and its decision is not kept; once the disk
// works again the client's retries (same command ids) apply exactly once; a
// power cut loses no acknowledged command.
class WriterDiskFaultTest : public WriterOverRealLog {
 protected:
  absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenLog() override {
    eventlog::RocksDbLogOptions options;
    options.path = (temp_ / "log").string();
    options.partition_count = 2;
    options.file_system = fs_;
    absl::StatusOr<std::unique_ptr<eventlog::RocksDbLog>> log = eventlog::RocksDbLog::Open(options);
    if (!log.ok()) return log.status();
    return std::unique_ptr<eventlog::EventLog>(std::move(*log));
  }

  base::TempDir temp_{"writer_disk_fault_test"};
  std::shared_ptr<eventlog::FaultFileSystem> fs_ = std::make_shared<eventlog::FaultFileSystem>();
};

TEST_F(WriterDiskFaultTest, FailingFsyncAnswersUnavailableAndRetriesApplyOnce) {
  Seed();
  fs_->Set(eventlog::DiskFault::kSyncFails);
  Outcome r1 = Run("r1", Receive("SKU-1", "WH-A", 5));
  EXPECT_EQ(r1.result.status.code(), absl::StatusCode::kUnavailable) << r1.result.status;
  EXPECT_THAT(std::string(r1.result.status.message()), ::testing::HasSubstr("retry with the same command_id"));
  Outcome r2 = Run("r2", Reserve("RA", {Line("SKU-1", 3)}));
  EXPECT_EQ(r2.result.status.code(), absl::StatusCode::kUnavailable) << r2.result.status;
  EXPECT_GT(fs_->faults(), 0u);

  fs_->Set(eventlog::DiskFault::kNone);
  RetryUntilOk("r1", Receive("SKU-1", "WH-A", 5));
  Outcome a2 = RetryUntilOk("r2", Reserve("RA", {Line("SKU-1", 3)}));
  EXPECT_EQ(Level(a2.state, "SKU-1", "WH-A").on_hand, 15);
  EXPECT_EQ(Level(a2.state, "SKU-1", "WH-A").reserved, 3);
  EXPECT_EQ(EventsOf("r1"), 1u) << "the receipt applied once";

  // A restarted writer rebuilds the same figures from the disk.
  Close();
  Open();
  ledger::State s = Probe();
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").on_hand, 15);
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").reserved, 3);
  EXPECT_NE(s.reservation(ledger::ReservationId("RA")), nullptr);
}

TEST_F(WriterDiskFaultTest, FullDiskNamesTheCauseAndNothingIsKept) {
  Seed();
  fs_->Set(eventlog::DiskFault::kFull);
  Outcome full = Run("r1", Receive("SKU-1", "WH-A", 5));
  EXPECT_EQ(full.result.status.code(), absl::StatusCode::kUnavailable) << full.result.status;
  EXPECT_THAT(std::string(full.result.status.message()), ::testing::HasSubstr("No space left on device"));
  // The state the next command sees does not hold the refused receipt, even
  // while the disk is still full (the writer rebuilds it from the log).
  ledger::State during = Probe();
  EXPECT_EQ(Level(during, "SKU-1", "WH-A").on_hand, 10);
  EXPECT_EQ(during.command(ledger::CommandId("r1")), nullptr);

  fs_->Set(eventlog::DiskFault::kNone);
  Outcome ok = RetryUntilOk("r1", Receive("SKU-1", "WH-A", 5));
  EXPECT_EQ(Level(ok.state, "SKU-1", "WH-A").on_hand, 15);
  EXPECT_EQ(EventsOf("r1"), 1u);
}

TEST_F(WriterDiskFaultTest, PowerCutKeepsEveryAcknowledgedCommand) {
  Seed();
  int acknowledged = 0;
  for (int i = 0; i < 30; ++i) {
    if (Run("in-" + std::to_string(i), Receive("SKU-1", "WH-A", 1)).result.status.ok()) ++acknowledged;
  }
  ASSERT_EQ(acknowledged, 30);
  fs_->Set(eventlog::DiskFault::kSyncFails);
  EXPECT_EQ(Run("lost", Receive("SKU-1", "WH-A", 100)).result.status.code(), absl::StatusCode::kUnavailable);
  fs_->PowerLoss();
  Close();
  fs_->DropUnsyncedData();
  fs_->Set(eventlog::DiskFault::kNone);

  Open();
  ledger::State s = Probe();
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").on_hand, 10 + acknowledged) << "every acknowledged receipt, and not the lost one";
  EXPECT_EQ(s.command(ledger::CommandId("lost")), nullptr);
  for (int i = 0; i < 30; ++i) EXPECT_NE(s.command(ledger::CommandId("in-" + std::to_string(i))), nullptr) << i;
}

// ---- the Kafka log on a failing broker ----
//
// The writer over the real KafkaLog on librdkafka's mock cluster, with the
// mock's fault controls: a broker down, produce requests answered with
// errors, added latency. Acknowledged commands survive, a refused one is
// answered UNAVAILABLE and its decision is not kept, the client's retry
// (same command id) applies exactly once, and the log holds no event twice.
// (The mock does not implement read_committed or fencing: docs/event-log.md.)
class WriterBrokerFaultTest : public WriterOverRealLog {
 protected:
  static constexpr std::int16_t kProduceApiKey = 0;  // the Kafka protocol's ApiKey of Produce (not in librdkafka's headers)
  static eventlog::MockKafkaCluster& Cluster() {
    static eventlog::MockKafkaCluster cluster;  // one per binary: destroying one takes a second
    return cluster;
  }
  absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenLog() override {
    if (topic_.empty()) {
      static int topics = 0;
      topic_ = "broker.fault." + std::to_string(++topics);
      Cluster().CreateTopic(topic_, 2);
    }
    eventlog::KafkaLogOptions options;
    options.bootstrap_servers = Cluster().bootstraps();
    options.topic = topic_;
    options.partition_count = 2;
    options.transactional_id = topic_ + ".writer";
    options.request_timeout_ms = std::chrono::milliseconds(1500);
    options.retries_max = 1;
    absl::StatusOr<std::unique_ptr<eventlog::KafkaLog>> log = eventlog::KafkaLog::Open(options);
    if (!log.ok()) return log.status();
    return std::unique_ptr<eventlog::EventLog>(std::move(*log));
  }
  void TearDown() override {
    rd_kafka_mock_broker_set_up(Cluster().get(), 1);
    rd_kafka_mock_broker_set_rtt(Cluster().get(), 1, 0);
    rd_kafka_mock_clear_request_errors(Cluster().get(), kProduceApiKey);
    WriterOverRealLog::TearDown();
  }

  std::string topic_;
};

TEST_F(WriterBrokerFaultTest, BrokerDownAnswersUnavailableAndTheRetryAppliesOnce) {
  Seed();
  ASSERT_TRUE(Run("before", Reserve("R-BEFORE", {Line("SKU-1", 2)})).result.status.ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(Cluster().get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  Outcome refused = Run("during", Reserve("R-DURING", {Line("SKU-1", 3)}));
  EXPECT_EQ(refused.result.status.code(), absl::StatusCode::kUnavailable) << refused.result.status;
  ASSERT_EQ(rd_kafka_mock_broker_set_up(Cluster().get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);

  Outcome retried = RetryUntilOk("during", Reserve("R-DURING", {Line("SKU-1", 3)}));
  ledger::State s = Probe();
  EXPECT_EQ(Level(s, "SKU-1", "WH-A").reserved, 5) << "the acknowledged reservation and the retried one, once";
  EXPECT_EQ(EventsOf("before"), 1u);
  EXPECT_EQ(EventsOf("during"), 1u) << "the refused attempt and its retry left one event";
  // And a writer started afresh on the same topic folds the same.
  Close();
  Open();
  EXPECT_EQ(Level(Probe(), "SKU-1", "WH-A").reserved, 5);
}

TEST_F(WriterBrokerFaultTest, RetriableProduceErrorsAreRetriedWithoutDoubling) {
  Seed();
  // Produce answered "not leader" and "timed out" a few times: the idempotent
  // producer retries inside one append, so the command is acknowledged and
  // its event is in the log once.
  rd_kafka_mock_push_request_errors(Cluster().get(), kProduceApiKey, 3,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  Outcome out = Run("flaky", Reserve("R-FLAKY", {Line("SKU-1", 4)}));
  if (out.result.status.code() == absl::StatusCode::kUnavailable) out = Run("flaky", Reserve("R-FLAKY", {Line("SKU-1", 4)}));
  ASSERT_TRUE(out.result.status.ok()) << out.result.status;
  EXPECT_EQ(EventsOf("flaky"), 1u);
  EXPECT_EQ(Level(Probe(), "SKU-1", "WH-A").reserved, 4);
}

TEST_F(WriterBrokerFaultTest, AddedLatencySlowsAppendsButLosesNothing) {
  Seed();
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(Cluster().get(), 1, 300), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Run("slow-" + std::to_string(i), Receive("SKU-1", "WH-A", 1)).result.status.ok()) << i;
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300)) << "the latency was not applied";
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(Cluster().get(), 1, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(Level(Probe(), "SKU-1", "WH-A").on_hand, 13);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(EventsOf("slow-" + std::to_string(i)), 1u) << i;
}

}  // namespace
}  // namespace command_api
