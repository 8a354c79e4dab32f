// command_load: a closed-loop (or paced) gRPC load generator for the
// CommandService.
//
//   build/bench/command_load --scenario hot --clients 64 --seconds 10
//   build/bench/command_load --scenario bulk --clients 8 --bulk-size 100
//   build/bench/command_load --scenario stream --clients 8 --channels 8
//   build/bench/command_load --scenario hot --rate 20000     # paced, for p99 at a given load
//
// Without --target it starts build/tools/inventoryd on a fresh temporary data
// dir (127.0.0.1, a free port) and stops it afterwards. Scenarios:
//   hot             CheckAndReserveStock of 1 unit, 10 SKUs
//   uniform         CheckAndReserveStock of 1 unit, --skus SKUs (default 100000)
//   reserve-commit  CheckAndReserveStock then CommitReservation, hot SKUs
//   bulk            BulkReserveStock of --bulk-size single-line reservations, uniform SKUs
//   stream          ReserveStream: each client is one stream of single-line
//                   reservations, uniform SKUs, at most --stream-window unanswered;
//                   latency is per reservation (sent to answered)
// It prints one line: reservations/s, calls/s and call latency p50/p99/p999
// (ms); for a server it started, also the server's CPU time (user + system,
// from /proc/<pid>/stat) per call over the load window, server_cpu_us_per_call.
// --server-flag passes a flag to that server (bench/metrics_overhead.sh
// runs it with --metrics=on and off).
#include <grpcpp/grpcpp.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/inventoryd_process.h"
#include "proto/command_service.grpc.pb.h"

namespace {

namespace pb = inventory::v1;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string target;
  std::string inventoryd = INVENTORYD_PATH;
  std::string scenario = "hot";
  int clients = 64;
  int channels = 4;
  double seconds = 10;
  int skus = 100'000;
  int bulk_size = 100;
  int stream_window = 2048;
  double rate = 0;  // calls/s over all clients; 0 = closed loop
  std::vector<std::string> server_flags;
  bool seed = true;
};

// CPU seconds (user + system) the process `pid` has used, or -1.
double ProcessCpuSeconds(int pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

pb::CommandContext Context(const std::string& id) {
  pb::CommandContext c;
  c.set_command_id(id);
  c.set_actor("load");
  return c;
}

void Check(const grpc::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.error_message().c_str());
    std::exit(1);
  }
}

// Creates one warehouse and `count` SKUs with deep stock.
void Seed(pb::CommandService::Stub& stub, int count) {
  grpc::ClientContext wctx;
  pb::CreateWarehouseRequest wreq;
  *wreq.mutable_context() = Context("seed-wh");
  wreq.mutable_warehouse()->set_warehouse("WH-1");
  wreq.mutable_warehouse()->set_name("Main");
  wreq.mutable_warehouse()->set_active(true);
  pb::CreateWarehouseResponse wresp;
  Check(stub.CreateWarehouse(&wctx, wreq, &wresp), "CreateWarehouse");
  for (int first = 0; first < count; first += 1000) {
    grpc::ClientContext ctx;
    pb::BulkCreateItemsRequest req;
    *req.mutable_context() = Context("seed-items-" + std::to_string(first));
    for (int i = first; i < std::min(count, first + 1000); ++i) {
      pb::Item* item = req.add_items();
      item->set_sku("SKU-" + std::to_string(i));
      item->set_name("Item");
    }
    pb::BulkCreateItemsResponse resp;
    Check(stub.BulkCreateItems(&ctx, req, &resp), "BulkCreateItems");
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < count; i += 8) {
        grpc::ClientContext ctx;
        pb::AdjustInventoryRequest req;
        *req.mutable_context() = Context("seed-recv-" + std::to_string(i));
        req.set_sku("SKU-" + std::to_string(i));
        req.set_warehouse("WH-1");
        req.set_receive_quantity(1'000'000'000);
        pb::AdjustInventoryResponse resp;
        Check(stub.AdjustInventory(&ctx, req, &resp), "AdjustInventory");
      }
    });
  }
  for (auto& t : threads) t.join();
}

struct ClientStats {
  std::vector<double> latencies_ms;
  std::uint64_t calls = 0;
  std::uint64_t reservations = 0;
  std::uint64_t failures = 0;
};

// One ReserveStream: a thread sends until `end`, at most stream_window
// unanswered (messages are corked with buffer_hint and flushed every 64th
// and whenever the window fills); this thread reads the answers, which come
// in request order, so each one's send time is the oldest still waiting.
void RunStreamClient(int id, const Flags& f, pb::CommandService::Stub& stub, int skus, Clock::time_point end,
                     ClientStats& out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(static_cast<int>(f.seconds) + 60));
  auto stream = stub.ReserveStream(&ctx);
  std::mutex mu;
  std::condition_variable room;
  std::deque<Clock::time_point> sent;
  const std::size_t window = static_cast<std::size_t>(f.stream_window);
  std::thread sender([&] {
    std::mt19937_64 rng(static_cast<std::uint64_t>(id) + 1);
    std::uniform_int_distribution<int> pick(0, skus - 1);
    pb::CheckAndReserveStockRequest req;
    *req.mutable_context() = Context("");
    pb::OrderLine* line = req.add_lines();
    line->set_quantity(1);
    const std::string prefix = "s" + std::to_string(id) + "-";
    for (std::uint64_t seq = 0; Clock::now() < end; ++seq) {
      bool fills_window = false;
      {
        std::unique_lock lock(mu);
        room.wait(lock, [&] { return sent.size() < window; });
        sent.push_back(Clock::now());
        fills_window = sent.size() == window;
      }
      req.mutable_context()->set_command_id(prefix + std::to_string(seq));
      line->set_sku("SKU-" + std::to_string(pick(rng)));
      grpc::WriteOptions options;
      if (!fills_window && seq % 64 != 63) options.set_buffer_hint();
      if (!stream->Write(req, options)) break;
    }
    stream->WritesDone();
  });
  pb::ReserveStreamResponse resp;
  while (stream->Read(&resp)) {
    const Clock::time_point now = Clock::now();
    std::lock_guard lock(mu);
    for (const pb::ReserveStreamAnswer& a : resp.answers()) {
      out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent.front()).count());
      sent.pop_front();
      out.calls += 1;
      out.reservations += a.result().code() == 0 ? 1 : 0;
      out.failures += a.result().code() == 0 ? 0 : 1;
    }
    room.notify_one();
  }
  sender.join();
  Check(stream->Finish(), "ReserveStream");
}

void RunClient(int id, const Flags& f, pb::CommandService::Stub& stub, int skus, Clock::time_point end,
               ClientStats& out) {
  if (f.scenario == "stream") return RunStreamClient(id, f, stub, skus, end, out);
  std::mt19937_64 rng(static_cast<std::uint64_t>(id) + 1);
  std::uniform_int_distribution<int> pick(0, skus - 1);
  std::uint64_t seq = 0;
  double per_client_rate = f.rate / f.clients;
  auto next_start = Clock::now();
  while (Clock::now() < end) {
    if (per_client_rate > 0) {
      next_start += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_client_rate));
      std::this_thread::sleep_until(next_start);
    }
    auto start = Clock::now();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::string base = "c" + std::to_string(id) + "-" + std::to_string(seq++);
    bool ok = false;
    std::uint64_t reserved = 0;
    if (f.scenario == "bulk") {
      pb::BulkReserveStockRequest req;
      for (int i = 0; i < f.bulk_size; ++i) {
        pb::CheckAndReserveStockRequest* r = req.add_reservations();
        *r->mutable_context() = Context(base + "-" + std::to_string(i));
        pb::OrderLine* line = r->add_lines();
        line->set_sku("SKU-" + std::to_string(pick(rng)));
        line->set_quantity(1);
      }
      pb::BulkReserveStockResponse resp;
      ok = stub.BulkReserveStock(&ctx, req, &resp).ok();
      for (const auto& r : resp.results()) reserved += r.code() == 0 ? 1 : 0;
    } else {
      pb::CheckAndReserveStockRequest req;
      *req.mutable_context() = Context(base);
      pb::OrderLine* line = req.add_lines();
      line->set_sku("SKU-" + std::to_string(pick(rng)));
      line->set_quantity(1);
      pb::CheckAndReserveStockResponse resp;
      ok = stub.CheckAndReserveStock(&ctx, req, &resp).ok();
      reserved = ok ? 1 : 0;
      if (ok && f.scenario == "reserve-commit") {
        grpc::ClientContext cctx;
        cctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        pb::CommitReservationRequest creq;
        *creq.mutable_context() = Context(base + "-commit");
        creq.set_reservation_id(resp.reservation().reservation_id());
        pb::CommitReservationResponse cresp;
        ok = stub.CommitReservation(&cctx, creq, &cresp).ok();
      }
    }
    out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    out.calls += 1;
    out.reservations += reserved;
    out.failures += ok ? 0 : 1;
  }
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"command_load: gRPC load generator for the CommandService"};
  app.add_option("--target", f.target, "host:port of a running inventoryd (default: start one)");
  app.add_option("--inventoryd", f.inventoryd, "inventoryd binary to start")->capture_default_str();
  app.add_option("--scenario", f.scenario)->check(CLI::IsMember({"hot", "uniform", "reserve-commit", "bulk", "stream"}))
      ->capture_default_str();
  app.add_option("--clients", f.clients)->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--channels", f.channels, "gRPC channels (connections)")->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--seconds", f.seconds)->capture_default_str();
  app.add_option("--skus", f.skus, "SKUs for uniform, bulk and stream")->check(CLI::Range(10, 10'000'000))
      ->capture_default_str();
  app.add_option("--bulk-size", f.bulk_size)->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--stream-window", f.stream_window, "stream: most unanswered reservations per stream")
      ->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--rate", f.rate, "paced calls/s over all clients (0: closed loop)")->capture_default_str();
  app.add_option("--server-flag", f.server_flags, "a flag for the inventoryd it starts, e.g. --server-flag=--metrics=off")
      ->allow_extra_args(false);
  app.add_flag("!--no-seed", f.seed, "do not create the warehouse and SKUs (a --target seeded by an earlier run)");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<bench::InventorydProcess> server;
  std::string target = f.target;
  if (target.empty()) {
    server = std::make_unique<bench::InventorydProcess>(f.inventoryd, "command-load", std::filesystem::path(),
                                                        f.server_flags);
    target = server->address();
  }
  std::vector<std::unique_ptr<pb::CommandService::Stub>> stubs;
  for (int c = 0; c < f.channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // distinct args: distinct connections
    stubs.push_back(pb::CommandService::NewStub(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  int skus = (f.scenario == "hot" || f.scenario == "reserve-commit") ? 10 : f.skus;
  if (f.seed) Seed(*stubs[0], skus);

  std::vector<ClientStats> stats(static_cast<std::size_t>(f.clients));
  const double cpu_before = server ? ProcessCpuSeconds(server->pid()) : -1;
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(f.seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < f.clients; ++c) {
    threads.emplace_back([&, c] {
      RunClient(c, f, *stubs[static_cast<std::size_t>(c % f.channels)], skus, end, stats[static_cast<std::size_t>(c)]);
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_after = server ? ProcessCpuSeconds(server->pid()) : -1;
  ClientStats total;
  for (ClientStats& s : stats) {
    total.calls += s.calls;
    total.reservations += s.reservations;
    total.failures += s.failures;
    total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
  }
  std::printf("scenario=%s clients=%d rate=%.0f reservations_per_s=%.0f calls_per_s=%.0f failures=%llu "
              "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f calls=%llu\n",
              f.scenario.c_str(), f.clients, f.rate, static_cast<double>(total.reservations) / elapsed,
              static_cast<double>(total.calls) / elapsed, static_cast<unsigned long long>(total.failures),
              Percentile(total.latencies_ms, 0.50), Percentile(total.latencies_ms, 0.99),
              Percentile(total.latencies_ms, 0.999), static_cast<unsigned long long>(total.calls));
  if (cpu_before >= 0 && cpu_after >= 0 && total.calls > 0) {
    std::printf("server_cpu_s=%.3f server_cpu_us_per_call=%.2f\n", cpu_after - cpu_before,
                (cpu_after - cpu_before) * 1e6 / static_cast<double>(total.calls));
  }
  return 0;
}
