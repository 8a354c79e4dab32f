// kill -9 against the real inventoryd under reservation load.
//
// We start inventoryd on a temp data dir, stock it, and let several client
// threads reserve (CheckAndReserveStock) and commit (CommitReservation),
// recording every acknowledged outcome. At a random (seeded) moment we SIGKILL
// it, restart it on the same data dir and check that
//   * every acknowledged reservation is there: re-sending it is a duplicate
//     with the same allocation; every acknowledged commit re-sent is a
//     duplicate of a committed reservation;
//   * after a clean stop (SIGTERM, exit 0), folding the whole log with
//     ledger::Evolve into a fresh State succeeds (the invariants hold), every
//     reservation is complete and resolved all-or-nothing, acknowledged
//     rejections left nothing, and per SKU reserved + committed equals the
//     stock consumed.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "base/testing/temp_dir.h"
#include "command-api/translate.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "eventlog/rocksdb_log.h"
#include "ledger/state.h"
#include "proto/command_service.grpc.pb.h"

extern char** environ;

namespace {

namespace pb = inventory::v1;
using Stub = pb::CommandService::Stub;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kPartitions = 8;
constexpr int kSkus = 5;
constexpr std::int64_t kStockPerWarehouse = 150;
const char* const kWarehouses[] = {"WH-A", "WH-B"};

std::string SkuName(int i) { return "CRASH-" + std::to_string(i); }

// One inventoryd child process. The destructor kills it if still running.
class Inventoryd {
 public:
  Inventoryd() = default;
  Inventoryd(const Inventoryd&) = delete;
  Inventoryd& operator=(const Inventoryd&) = delete;
  ~Inventoryd() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
  }

  // Starts it and reads "listening on HOST:PORT" (within 20 s).
  ::testing::AssertionResult Start(const std::string& data_dir, const std::string& stderr_path) {
    int fds[2];
    if (pipe(fds) != 0) return ::testing::AssertionFailure() << "pipe failed";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    std::vector<std::string> args = {INVENTORYD_PATH, "serve",     "--data-dir", data_dir, "--listen",
                                     "127.0.0.1:0",   "--partitions", std::to_string(kPartitions)};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int spawned = posix_spawn(&pid_, INVENTORYD_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_fd_ = fds[0];
    if (spawned != 0) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "posix_spawn " << INVENTORYD_PATH << ": " << spawned;
    }
    std::string line;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return ::testing::AssertionFailure() << "no address line within 20 s; got \"" << line << "\"";
      pollfd pfd{out_fd_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
      char buffer[256];
      ssize_t got = read(out_fd_, buffer, sizeof(buffer));
      if (got <= 0) return ::testing::AssertionFailure() << "inventoryd closed stdout; see " << stderr_path;
      line.append(buffer, static_cast<std::size_t>(got));
    }
    line.resize(line.find('\n'));
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) return ::testing::AssertionFailure() << "unexpected first line: " << line;
    address_ = line.substr(prefix.size());
    return ::testing::AssertionSuccess();
  }

  const std::string& address() const { return address_; }

  // Sends `signal` and waits (bounded) for the exit; the wait status, or -1.
  int Signal(int signal, std::chrono::seconds limit) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    const auto deadline = Clock::now() + limit;
    int status = 0;
    for (;;) {
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string address_;
};

template <typename Req, typename Resp>
grpc::Status Call(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
                  Resp* resp, std::chrono::milliseconds deadline = std::chrono::milliseconds(3000)) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  return (stub->*method)(&ctx, req, resp);
}

std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  EXPECT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << "cannot connect to " << address;
  return channel;
}

pb::CommandContext Context(const std::string& command_id) {
  pb::CommandContext c;
  c.set_command_id(command_id);
  return c;
}

// An allocation as comparable text.
std::string AllocationKey(std::uint32_t line, const std::string& sku, const std::string& wh, std::int64_t quantity) {
  return std::to_string(line) + "|" + sku + "|" + wh + "|" + std::to_string(quantity);
}
std::multiset<std::string> Allocations(const pb::Reservation& r) {
  std::multiset<std::string> out;
  for (const pb::Allocation& a : r.allocations()) {
    out.insert(AllocationKey(a.request_line(), a.sku(), a.warehouse(), a.quantity()));
  }
  return out;
}

struct AckedReservation {
  pb::CheckAndReserveStockRequest request;
  std::string reservation_id;
  std::multiset<std::string> allocations;
  bool commit_acked = false;
  std::optional<pb::CommitReservationRequest> commit;  // acknowledged commit, to re-send
};

struct Recorded {
  std::mutex mu;
  std::vector<AckedReservation> reservations;
  std::vector<std::string> rejected_ids;  // acknowledged FAILED_PRECONDITION: must leave nothing
  std::vector<std::string> problems;      // unexpected answers before the kill
  std::atomic<int> acked{0};
};

void Stock(Stub* stub) {
  for (const char* wh : kWarehouses) {
    pb::CreateWarehouseRequest r;
    *r.mutable_context() = Context(std::string("wh-") + wh);
    r.mutable_warehouse()->set_warehouse(wh);
    r.mutable_warehouse()->set_name(wh);
    r.mutable_warehouse()->set_region("eu");
    r.mutable_warehouse()->set_priority(1);
    r.mutable_warehouse()->set_active(true);
    pb::CreateWarehouseResponse resp;
    grpc::Status s = Call(stub, &Stub::CreateWarehouse, r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  for (int i = 0; i < kSkus; ++i) {
    pb::CreateItemRequest r;
    *r.mutable_context() = Context("item-" + SkuName(i));
    r.mutable_item()->set_sku(SkuName(i));
    r.mutable_item()->set_name("crash item");
    pb::CreateItemResponse resp;
    grpc::Status s = Call(stub, &Stub::CreateItem, r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const char* wh : kWarehouses) {
      pb::AdjustInventoryRequest a;
      *a.mutable_context() = Context("recv-" + SkuName(i) + "-" + wh);
      a.set_sku(SkuName(i));
      a.set_warehouse(wh);
      a.set_receive_quantity(kStockPerWarehouse);
      pb::AdjustInventoryResponse aresp;
      s = Call(stub, &Stub::AdjustInventory, a, &aresp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }
}

// One client thread: reserve, maybe commit, until the server goes away.
void Load(std::shared_ptr<grpc::Channel> channel, int thread, std::uint64_t seed, std::atomic<bool>* killed,
          Recorded* out) {
  auto stub = pb::CommandService::NewStub(channel);
  std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(thread));
  for (int k = 0; k < 100'000; ++k) {
    pb::CheckAndReserveStockRequest req;
    std::string id = "s" + std::to_string(seed) + "-t" + std::to_string(thread) + "-" + std::to_string(k);
    *req.mutable_context() = Context(id);
    req.set_order_id("o-" + id);
    int lines = 1 + static_cast<int>(rng() % 2);
    int first = static_cast<int>(rng() % kSkus);
    for (int l = 0; l < lines; ++l) {
      pb::OrderLine* line = req.add_lines();
      line->set_sku(SkuName((first + l) % kSkus));
      line->set_quantity(1 + static_cast<std::int64_t>(rng() % 3));
    }
    req.set_allow_split(rng() % 2 == 0);
    pb::CheckAndReserveStockResponse resp;
    grpc::Status s = Call(stub.get(), &Stub::CheckAndReserveStock, req, &resp);
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      std::lock_guard<std::mutex> lock(out->mu);
      out->rejected_ids.push_back(command_api::ReservationIdFor(req));
      continue;
    }
    if (!s.ok()) {
      if (!killed->load()) {
        std::lock_guard<std::mutex> lock(out->mu);
        out->problems.push_back("reserve " + id + ": " + std::to_string(static_cast<int>(s.error_code())) + " " +
                                s.error_message());
      }
      return;  // the server is gone; the outcome of this one is unknown
    }
    AckedReservation acked;
    acked.request = req;
    acked.reservation_id = resp.reservation().reservation_id();
    acked.allocations = Allocations(resp.reservation());
    if (resp.result().duplicate() || acked.reservation_id != command_api::ReservationIdFor(req) ||
        resp.reservation().status() != pb::RESERVATION_STATUS_ACTIVE || acked.allocations.empty()) {
      std::lock_guard<std::mutex> lock(out->mu);
      out->problems.push_back("odd reserve answer " + resp.ShortDebugString());
    }
    std::size_t index = 0;
    {
      std::lock_guard<std::mutex> lock(out->mu);
      out->reservations.push_back(acked);
      index = out->reservations.size() - 1;
    }
    out->acked.fetch_add(1);
    if (rng() % 2 == 0) continue;
    pb::CommitReservationRequest commit;
    *commit.mutable_context() = Context("c-" + id);
    commit.set_reservation_id(acked.reservation_id);
    pb::CommitReservationResponse cresp;
    s = Call(stub.get(), &Stub::CommitReservation, commit, &cresp);
    if (!s.ok()) {
      if (!killed->load()) {
        std::lock_guard<std::mutex> lock(out->mu);
        out->problems.push_back("commit " + id + ": " + std::to_string(static_cast<int>(s.error_code())) + " " +
                                s.error_message());
      }
      return;
    }
    std::lock_guard<std::mutex> lock(out->mu);
    out->reservations[index].commit_acked = true;
    out->reservations[index].commit = commit;
    if (cresp.reservation().status() != pb::RESERVATION_STATUS_COMMITTED) {
      out->problems.push_back("odd commit answer " + cresp.ShortDebugString());
    }
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void RunOnce(std::uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  base::TempDir temp("inventoryd_crash");
  // Kept after a failure, for the server's stderr and data.
  struct KeepOnFailure {
    base::TempDir& dir;
    ~KeepOnFailure() {
      if (::testing::Test::HasFailure()) dir.Keep();
    }
  } keep_on_failure{temp};
  const std::string& dir = temp.path();
  const std::string data_dir = dir + "/data";
  const std::string stderr_path = dir + "/inventoryd.stderr";
  std::mt19937_64 rng(seed);
  const auto started = Clock::now();
  auto elapsed_ms = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    return static_cast<long long>(ms);
  };

  Recorded recorded;
  {
    Inventoryd first;
    ASSERT_TRUE(first.Start(data_dir, stderr_path));
    auto channel = Connect(first.address());
    auto stub = pb::CommandService::NewStub(channel);
    Stock(stub.get());
    if (::testing::Test::HasFatalFailure()) return;

    constexpr int kThreads = 6;
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back(Load, channel, t, seed, &killed, &recorded);
    }
    // Kill once some work is acknowledged, after a random further delay.
    const auto warmup_deadline = Clock::now() + std::chrono::seconds(10);
    const int warmup = 10 + static_cast<int>(rng() % 40);
    while (recorded.acked.load() < warmup && Clock::now() < warmup_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400'000));
    killed.store(true);
    int status = first.Signal(SIGKILL, std::chrono::seconds(10));
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
    for (std::thread& th : threads) th.join();
  }
  for (const std::string& p : recorded.problems) ADD_FAILURE() << p;
  int commits_acked = 0;
  for (const AckedReservation& r : recorded.reservations) commits_acked += r.commit_acked ? 1 : 0;
  std::printf("seed %llu: %zu reservations and %d commits acknowledged, %zu rejections, before kill -9 at %lld ms\n",
              static_cast<unsigned long long>(seed), recorded.reservations.size(), commits_acked,
              recorded.rejected_ids.size(), elapsed_ms());
  EXPECT_GE(recorded.reservations.size(), 10u) << "too little load before the kill";

  // Restart on the same data dir: everything acknowledged is there.
  {
    Inventoryd second;
    ASSERT_TRUE(second.Start(data_dir, stderr_path)) << ReadFile(stderr_path);
    {
      // Its own scope: the channel closes before SIGTERM (an idle connection
      // held open makes gRPC's graceful shutdown wait about 5 s for it).
      auto channel = Connect(second.address());
      auto stub = pb::CommandService::NewStub(channel);
      for (const AckedReservation& r : recorded.reservations) {
        pb::CheckAndReserveStockResponse resp;
        grpc::Status s = Call(stub.get(), &Stub::CheckAndReserveStock, r.request, &resp);
        ASSERT_TRUE(s.ok()) << r.reservation_id << ": " << s.error_message();
        EXPECT_TRUE(resp.result().duplicate()) << "acknowledged reservation " << r.reservation_id << " was lost";
        EXPECT_EQ(resp.reservation().reservation_id(), r.reservation_id);
        EXPECT_EQ(Allocations(resp.reservation()), r.allocations) << r.reservation_id;
        if (r.commit_acked) {
          EXPECT_EQ(resp.reservation().status(), pb::RESERVATION_STATUS_COMMITTED) << r.reservation_id;
          pb::CommitReservationResponse cresp;
          s = Call(stub.get(), &Stub::CommitReservation, *r.commit, &cresp);
          ASSERT_TRUE(s.ok()) << r.reservation_id << ": " << s.error_message();
          EXPECT_TRUE(cresp.result().duplicate()) << "acknowledged commit of " << r.reservation_id << " was lost";
          EXPECT_EQ(cresp.reservation().status(), pb::RESERVATION_STATUS_COMMITTED);
        } else {
          EXPECT_TRUE(resp.reservation().status() == pb::RESERVATION_STATUS_ACTIVE ||
                      resp.reservation().status() == pb::RESERVATION_STATUS_COMMITTED)
              << resp.reservation().ShortDebugString();
        }
      }
    }
    std::printf("seed %llu: restarted and re-checked by %lld ms\n", static_cast<unsigned long long>(seed),
                elapsed_ms());
    int status = second.Signal(SIGTERM, std::chrono::seconds(15));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "SIGTERM: wait status " << status << "\n" << ReadFile(stderr_path);
  }

  // Fold the whole log from zero.
  eventlog::RocksDbLogOptions options;
  options.path = data_dir + "/log";
  options.partition_count = kPartitions;
  auto log = eventlog::RocksDbLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  ledger::State state;
  std::map<std::string, int> line_events;  // ReservationLineReserved per reservation
  std::map<std::string, std::int64_t> received;
  for (std::uint32_t p = 0; p < kPartitions; ++p) {
    auto records = (*log)->Read(p, 0, 10'000'000);
    ASSERT_TRUE(records.ok()) << records.status();
    for (const eventlog::StoredRecord& record : *records) {
      auto event = ledger::Decode(record.payload);
      ASSERT_TRUE(event.ok()) << p << ":" << record.position.offset << ": " << event.status();
      absl::Status applied = ledger::Evolve(state, *event);
      ASSERT_TRUE(applied.ok()) << p << ":" << record.position.offset << ": " << applied;
      if (const auto* r = std::get_if<ledger::ReservationLineReserved>(&event->payload)) {
        line_events[r->reservation_id.value()] += 1;
      }
      if (const auto* r = std::get_if<ledger::StockReceived>(&event->payload)) {
        received[event->envelope.sku.value()] += r->quantity;
      }
      EXPECT_FALSE(std::holds_alternative<ledger::ReservationExpired>(event->payload));
      EXPECT_FALSE(std::holds_alternative<ledger::ReservationReleased>(event->payload));
    }
  }
  ASSERT_TRUE((*log)->Close().ok());

  std::map<std::string, std::int64_t> active_by_sku;
  std::map<std::string, std::int64_t> committed_by_sku;
  for (const auto& [id, r] : state.reservations()) {
    EXPECT_TRUE(r.complete()) << "reservation " << id << " is half-applied";
    EXPECT_EQ(line_events[id], static_cast<int>(r.allocations.size())) << id;
    std::set<ledger::ReservationStatus> statuses;
    for (const ledger::ReservationAllocation& a : r.allocations) {
      statuses.insert(a.status);
      const std::string& sku = state.item(a.item).sku.value();
      if (a.status == ledger::ReservationStatus::kActive) active_by_sku[sku] += a.quantity;
      if (a.status == ledger::ReservationStatus::kCommitted) committed_by_sku[sku] += a.quantity;
    }
    EXPECT_EQ(statuses.size(), 1u) << "reservation " << id << " is partly resolved";
  }
  for (const AckedReservation& acked : recorded.reservations) {
    const ledger::ReservationState* r = state.reservation(ledger::ReservationId(acked.reservation_id));
    ASSERT_NE(r, nullptr) << "acknowledged reservation " << acked.reservation_id << " is not in the log";
    std::multiset<std::string> allocations;
    for (const ledger::ReservationAllocation& a : r->allocations) {
      allocations.insert(AllocationKey(a.request_line, state.item(a.item).sku.value(),
                                       state.warehouse(a.warehouse).code.value(), a.quantity));
    }
    EXPECT_EQ(allocations, acked.allocations) << acked.reservation_id;
    if (acked.commit_acked) {
      EXPECT_EQ(r->status(), ledger::ReservationStatus::kCommitted) << acked.reservation_id;
    }
  }
  for (const std::string& id : recorded.rejected_ids) {
    EXPECT_EQ(state.reservation(ledger::ReservationId(id)), nullptr) << "rejected reservation " << id << " was written";
  }
  for (int i = 0; i < kSkus; ++i) {
    const std::string sku = SkuName(i);
    EXPECT_EQ(received[sku], kStockPerWarehouse * 2) << sku;
    ledger::StockLevel total = state.TotalLevel(ledger::Sku(sku));
    EXPECT_EQ(total.reserved, active_by_sku[sku]) << sku;
    EXPECT_EQ(received[sku] - total.on_hand, committed_by_sku[sku]) << sku;
    EXPECT_EQ(active_by_sku[sku] + committed_by_sku[sku], received[sku] - total.available()) << sku;
    for (const char* wh : kWarehouses) {
      ledger::StockLevel level = state.Level(ledger::Sku(sku), ledger::WarehouseCode(wh));
      EXPECT_GE(level.on_hand, 0);
      EXPECT_GE(level.reserved, 0);
      EXPECT_LE(level.reserved, level.on_hand);
    }
  }
  std::printf("seed %llu: stopped and audited by %lld ms\n", static_cast<unsigned long long>(seed), elapsed_ms());
}

TEST(InventorydCrashTest, KillNineUnderLoadLosesNothingAcknowledged) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    RunOnce(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
