// query_load: the query side under load, in one process: the CommandService
// and single writer over an embedded RocksDB log, the projector, and the
// QueryService on one gRPC server on 127.0.0.1, driven by clients in the same
// process (so they share the machine's cores with the server).
//
//   build/bench/query_load --scenario levels --clients 32 --seconds 5
//   build/bench/query_load --scenario fanout --subscribers 1000 --rate 50 --seconds 5
//
// levels  closed-loop GetInventoryLevels of one random SKU (of --skus, each in
//         two warehouses) from --clients threads over --channels connections;
//         prints point reads/s and call latency p50/p99/p999.
// fanout  --subscribers live StreamInventoryUpdates streams (callback client,
//         --channels connections) while one client issues AdjustInventory
//         receipts at --rate per second; for every update delivered to every
//         subscriber, the time from the command's acknowledgement (its
//         response arriving at the client) to the delivery; prints p50/p99/max.
//         A delivery that arrives before the acknowledgement counts as 0.
// check   the same with CheckAvailability of one line (allocation included).
// bulk    the same with BulkCheckAvailability of --bulk-skus one-line checks;
//         also prints SKU-reads/s.
//         levels, check and bulk run --seconds, or --calls calls in all (a
//         fixed amount of work, for callgrind).
// levels-inprocess  the reads behind GetInventoryLevels (snapshot, total,
//         levels) from --clients threads without gRPC: the views' own cost.
// --views rocksdb turns the projector's hot levels off (every read takes a
// RocksDB snapshot), to compare with the default in-memory levels.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "command-api/command_service.h"
#include "command-api/writer.h"
#include "eventlog/rocksdb_log.h"
#include "projector/projector.h"
#include "proto/command_service.grpc.pb.h"
#include "query-api/query_service.h"

namespace {

namespace pb = inventory::v1;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Flags {
  std::string scenario = "levels";
  int clients = 32;
  int channels = 4;
  double seconds = 5;
  int skus = 10'000;
  int subscribers = 1000;
  double rate = 50;
  int bulk_skus = 1000;
  int64_t calls = 0;          // unary scenarios: total calls instead of --seconds (callgrind)
  std::string views = "hot";  // hot: in-memory levels; rocksdb: ProjectorOptions::hot_skus_max = 0
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

// The whole stack in this process.
class Stack {
 public:
  bool Start(const Flags& f) {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("query-load-", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    eventlog::RocksDbLogOptions lo;
    lo.path = (dir_ / "log").string();
    auto log = eventlog::RocksDbLog::Open(lo);
    if (!log.ok()) return Fail(log.status());
    log_ = std::move(*log);
    auto writer = command_api::Writer::Open(log_.get(), nullptr, &clock_, command_api::WriterOptions{});
    if (!writer.ok()) return Fail(writer.status());
    writer_ = std::move(*writer);
    projector::ProjectorOptions po;
    po.path = (dir_ / "views").string();
    if (f.views == "rocksdb") po.hot_skus_max = 0;
    auto proj = projector::Projector::Start(log_.get(), po);
    if (!proj.ok()) return Fail(proj.status());
    projector_ = std::move(*proj);
    source_ = query_api::ProjectorSource(projector_.get());
    auto query = query_api::QueryServiceImpl::Create(source_.get(), {});
    if (!query.ok()) return Fail(query.status());
    query_ = std::move(*query);
    commands_ = std::make_unique<command_api::CommandServiceImpl>(writer_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(commands_.get());
    builder.RegisterService(query_.get());
    server_ = builder.BuildAndStart();
    return server_ != nullptr;
  }
  ~Stack() {
    if (query_) query_->Drain();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 5s);
    query_.reset();
    source_.reset();
    if (projector_) projector_->Stop();
    if (writer_) writer_->Stop();
    projector_.reset();
    writer_.reset();
    if (log_) (void)log_->Close();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::shared_ptr<grpc::Channel> Channel(int n) const {
    grpc::ChannelArguments args;
    args.SetInt("query_load.channel", n);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args);
  }
  projector::Projector* projector() const { return projector_.get(); }
  query_api::QueryServiceImpl* query() const { return query_.get(); }

 private:
  bool Fail(const absl::Status& s) {
    std::fprintf(stderr, "query_load: %s\n", s.ToString().c_str());
    return false;
  }
  std::filesystem::path dir_;
  base::SystemClock clock_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
  std::unique_ptr<command_api::Writer> writer_;
  std::unique_ptr<projector::Projector> projector_;
  std::unique_ptr<query_api::ViewSource> source_;
  std::unique_ptr<query_api::QueryServiceImpl> query_;
  std::unique_ptr<command_api::CommandServiceImpl> commands_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

int commands_sent = 0;
pb::CommandContext Ctx() {
  pb::CommandContext c;
  c.set_command_id(absl::StrCat("load-", ++commands_sent));
  return c;
}

pb::AdjustInventoryResponse Receive(pb::CommandService::Stub* stub, const std::string& sku, const std::string& wh) {
  pb::AdjustInventoryRequest req;
  *req.mutable_context() = Ctx();
  req.set_sku(sku);
  req.set_warehouse(wh);
  req.set_receive_quantity(5);
  grpc::ClientContext ctx;
  pb::AdjustInventoryResponse resp;
  grpc::Status st = stub->AdjustInventory(&ctx, req, &resp);
  if (!st.ok()) std::fprintf(stderr, "receive: %s\n", st.error_message().c_str());
  return resp;
}

// Items S0..S(n-1), each received into W1 and W2.
bool Seed(Stack& stack, int skus) {
  auto stub = pb::CommandService::NewStub(stack.Channel(100));
  for (const char* code : {"W1", "W2"}) {
    pb::CreateWarehouseRequest req;
    *req.mutable_context() = Ctx();
    req.mutable_warehouse()->set_warehouse(code);
    req.mutable_warehouse()->set_name(code);
    req.mutable_warehouse()->set_active(true);
    grpc::ClientContext ctx;
    pb::CreateWarehouseResponse resp;
    if (!stub->CreateWarehouse(&ctx, req, &resp).ok()) return false;
  }
  for (int base = 0; base < skus; base += 1000) {
    pb::BulkCreateItemsRequest req;
    *req.mutable_context() = Ctx();
    for (int i = base; i < std::min(skus, base + 1000); ++i) {
      pb::Item* item = req.add_items();
      item->set_sku(absl::StrCat("S", i));
      item->set_name("item");
      item->set_category(absl::StrCat("c", i % 10));
    }
    grpc::ClientContext ctx;
    pb::BulkCreateItemsResponse resp;
    if (!stub->BulkCreateItems(&ctx, req, &resp).ok()) return false;
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto s = pb::CommandService::NewStub(stack.Channel(101 + t));
      for (int i = t; i < skus; i += 8) {
        pb::AdjustInventoryRequest req;
        req.mutable_context()->set_command_id(absl::StrCat("seed-", i));
        req.set_sku(absl::StrCat("S", i));
        for (const char* wh : {"W1", "W2"}) {
          req.mutable_context()->set_command_id(absl::StrCat("seed-", i, "-", wh));
          req.set_warehouse(wh);
          req.set_receive_quantity(100);
          grpc::ClientContext ctx;
          pb::AdjustInventoryResponse resp;
          (void)s->AdjustInventory(&ctx, req, &resp);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return stack.projector()->WaitCaughtUp(Clock::now() + 120s).ok();
}

// One closed-loop call of a unary scenario; false on a wrong answer.
using Call = std::function<bool(pb::QueryService::Stub*, std::mt19937&)>;

Call LevelsCall(const Flags& f) {
  return [skus = f.skus](pb::QueryService::Stub* stub, std::mt19937& rng) {
    pb::GetInventoryLevelsRequest req;
    req.add_skus(absl::StrCat("S", rng() % skus));
    pb::GetInventoryLevelsResponse resp;
    grpc::ClientContext ctx;
    return stub->GetInventoryLevels(&ctx, req, &resp).ok() && resp.levels(0).warehouses_size() == 2;
  };
}

// CheckAvailability of one line (no warehouse named: the allocation runs),
// or BulkCheckAvailability of --bulk-skus such checks.
Call CheckCall(const Flags& f, int checks) {
  return [skus = f.skus, checks](pb::QueryService::Stub* stub, std::mt19937& rng) {
    auto fill = [&](pb::CheckAvailabilityRequest* req) {
      pb::OrderLine* line = req->add_lines();
      line->set_sku(absl::StrCat("S", rng() % skus));
      line->set_quantity(1);
    };
    grpc::ClientContext ctx;
    if (checks == 0) {
      pb::CheckAvailabilityRequest req;
      fill(&req);
      pb::CheckAvailabilityResponse resp;
      return stub->CheckAvailability(&ctx, req, &resp).ok() && resp.can_fulfil();
    }
    pb::BulkCheckAvailabilityRequest req;
    for (int i = 0; i < checks; ++i) fill(req.add_checks());
    pb::BulkCheckAvailabilityResponse resp;
    return stub->BulkCheckAvailability(&ctx, req, &resp).ok() && resp.results_size() == checks &&
           resp.results(0).can_fulfil();
  };
}

// `call` from --clients threads for --seconds (or --calls in all); prints
// calls/s, SKU-reads/s (calls x skus_per_call) and latency.
int Unary(Stack& stack, const Flags& f, const Call& call, int skus_per_call) {
  std::vector<std::unique_ptr<pb::QueryService::Stub>> stubs;
  for (int c = 0; c < f.channels; ++c) stubs.push_back(pb::QueryService::NewStub(stack.Channel(c)));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> left{f.calls > 0 ? f.calls : INT64_MAX};
  std::vector<std::vector<double>> latencies(f.clients);
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < f.clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c));
      pb::QueryService::Stub* stub = stubs[c % f.channels].get();
      while (!stop.load(std::memory_order_relaxed) && left.fetch_sub(1) > 0) {
        auto t0 = Clock::now();
        bool ok = call(stub, rng);
        latencies[c].push_back(Ms(Clock::now() - t0));
        if (!ok) errors.fetch_add(1);
      }
    });
  }
  if (f.calls == 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
    stop = true;
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  double n = static_cast<double>(all.size());
  std::printf("scenario=%s views=%s clients=%d channels=%d skus=%d seconds=%.1f calls=%.0f calls_per_s=%.0f "
              "sku_reads_per_s=%.0f errors=%lld p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
              f.scenario.c_str(), f.views.c_str(), f.clients, f.channels, f.skus, seconds, n, n / seconds,
              n * skus_per_call / seconds, static_cast<long long>(errors.load()), Percentile(all, 0.5),
              Percentile(all, 0.99), Percentile(all, 0.999));
  return 0;
}

// The same reads without gRPC: snapshot, total, per-warehouse levels.
int LevelsInProcess(Stack& stack, const Flags& f) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(f.clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < f.clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c));
      while (!stop.load(std::memory_order_relaxed)) {
        std::string sku = absl::StrCat("S", rng() % f.skus);
        auto t0 = Clock::now();
        auto snapshot = f.views == "hot" ? stack.projector()->NewLevelsSnapshot() : stack.projector()->NewSnapshot();
        auto total = snapshot->Total(sku);
        int n = 0;
        (void)snapshot->ForEachLevelOf(sku, [&n](const pb::StockLevel&) { return ++n > 0; });
        latencies[c].push_back(Ms(Clock::now() - t0));
        if (!total.ok() || n != 2) std::abort();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::printf("scenario=levels-inprocess views=%s threads=%d skus=%d seconds=%.1f reads_per_s=%.0f p50_ms=%.4f "
              "p99_ms=%.4f\n",
              f.views.c_str(), f.clients, f.skus, f.seconds, static_cast<double>(all.size()) / f.seconds,
              Percentile(all, 0.5),
              Percentile(all, 0.99));
  return 0;
}

// Acknowledgement times by log position (partition << 48 | offset).
class Acks {
 public:
  void Put(uint64_t key, Clock::time_point t) {
    std::lock_guard<std::mutex> lock(mu_);
    acks_[key] = t;
  }
  std::optional<Clock::time_point> Get(uint64_t key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = acks_.find(key);
    if (it == acks_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, Clock::time_point> acks_;
};

uint64_t Key(const pb::LogPosition& p) { return (uint64_t{p.partition()} << 48) | p.offset(); }

class Subscriber final : public grpc::ClientReadReactor<pb::InventoryUpdate> {
 public:
  explicit Subscriber(pb::QueryService::Stub* stub) {
    stub->async()->StreamInventoryUpdates(&ctx_, &req_, this);
    StartRead(&u_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::lock_guard<std::mutex> lock(mu_);
    received_.emplace_back(Key(u_.position()), Clock::now());
    StartRead(&u_);
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
    done_ = true;
    cv_.notify_all();
  }
  void Stop() {
    ctx_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }
  std::vector<std::pair<uint64_t, Clock::time_point>> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  grpc::ClientContext ctx_;
  pb::StreamInventoryUpdatesRequest req_;
  pb::InventoryUpdate u_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
  std::vector<std::pair<uint64_t, Clock::time_point>> received_;
};

int Fanout(Stack& stack, const Flags& f) {
  std::vector<std::unique_ptr<pb::QueryService::Stub>> stubs;
  for (int c = 0; c < f.channels; ++c) stubs.push_back(pb::QueryService::NewStub(stack.Channel(c)));
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < f.subscribers; ++i) subs.push_back(std::make_unique<Subscriber>(stubs[i % f.channels].get()));
  while (stack.query()->subscribers() < static_cast<size_t>(f.subscribers)) std::this_thread::sleep_for(5ms);
  Acks acks;
  auto cmd = pb::CommandService::NewStub(stack.Channel(99));
  std::mt19937 rng(1);
  auto start = Clock::now();
  auto interval = std::chrono::duration<double>(1.0 / f.rate);
  int sent = 0;
  while (Clock::now() - start < std::chrono::duration<double>(f.seconds)) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(interval * sent);
    std::this_thread::sleep_until(due);
    pb::AdjustInventoryResponse resp = Receive(cmd.get(), absl::StrCat("S", rng() % f.skus), "W1");
    auto acked = Clock::now();
    for (const auto& p : resp.result().token().positions()) acks.Put(Key(p), acked);
    ++sent;
  }
  std::this_thread::sleep_for(500ms);  // let the last deliveries land
  std::vector<double> lat;
  size_t delivered = 0;
  size_t short_subs = 0;
  for (auto& s : subs) {
    s->Stop();
    auto got = s->received();
    delivered += got.size();
    if (got.size() < static_cast<size_t>(sent)) ++short_subs;
    for (const auto& [key, at] : got) {
      if (auto ack = acks.Get(key)) lat.push_back(std::max(0.0, Ms(at - *ack)));
    }
  }
  std::printf("scenario=fanout subscribers=%d channels=%d rate=%.0f seconds=%.1f commands=%d deliveries=%zu "
              "subscribers_short=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
              f.subscribers, f.channels, f.rate, f.seconds, sent, delivered, short_subs, Percentile(lat, 0.5),
              Percentile(lat, 0.99), Percentile(lat, 1.0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"query_load: QueryService load in one process (see bench/README.md)"};
  Flags f;
  app.add_option("--scenario", f.scenario, "levels, check, bulk, levels-inprocess or fanout")
      ->check(CLI::IsMember({"levels", "check", "bulk", "levels-inprocess", "fanout"}));
  app.add_option("--bulk-skus", f.bulk_skus, "bulk: checks (one SKU each) per BulkCheckAvailability")
      ->check(CLI::Range(1, 1000));
  app.add_option("--calls", f.calls, "levels, check, bulk: stop after this many calls instead of --seconds")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}));
  app.add_option("--views", f.views, "hot (in-memory levels, the default) or rocksdb (hot levels off)")
      ->check(CLI::IsMember({"hot", "rocksdb"}));
  app.add_option("--clients", f.clients, "levels: client threads")->check(CLI::Range(1, 1024));
  app.add_option("--channels", f.channels, "gRPC connections")->check(CLI::Range(1, 64));
  app.add_option("--seconds", f.seconds, "measured duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--skus", f.skus, "items seeded, each in two warehouses")->check(CLI::Range(1, 1'000'000));
  app.add_option("--subscribers", f.subscribers, "fanout: streams")->check(CLI::Range(1, 4096));
  app.add_option("--rate", f.rate, "fanout: commands per second")->check(CLI::Range(1.0, 100000.0));
  CLI11_PARSE(app, argc, argv);
  Stack stack;
  if (!stack.Start(f)) return 1;
  if (!Seed(stack, f.skus)) {
    std::fprintf(stderr, "query_load: seeding failed\n");
    return 1;
  }
  if (f.scenario == "levels-inprocess") return LevelsInProcess(stack, f);
  if (f.scenario == "levels") return Unary(stack, f, LevelsCall(f), 1);
  if (f.scenario == "check") return Unary(stack, f, CheckCall(f, 0), 1);
  if (f.scenario == "bulk") return Unary(stack, f, CheckCall(f, f.bulk_skus), f.bulk_skus);
  return Fanout(stack, f);
}
