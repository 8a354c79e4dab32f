// Ledger core throughput: decide + evolve on one core over a large state.
//
//   build/bench/ledger_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// The state holds kSkus SKUs x kWarehouses warehouses (1M x 3 by default;
// LEDGER_BENCH_SKUS overrides), each level stocked deep enough never to run
// out. Each benchmark reports items_per_second (commands decided and applied)
// and the state's memory per (SKU, warehouse): resident-set growth while the
// state was built, divided by the number of levels.
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ledger/evolve.h"

namespace ledger {
namespace {

constexpr int kWarehouses = 3;
constexpr TimeMs kStart = ledger::AtEpochMs(1'700'000'000'000);

std::size_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages_total = 0, pages_resident = 0;
  int n = std::fscanf(f, "%lu %lu", &pages_total, &pages_resident);
  std::fclose(f);
  return n == 2 ? pages_resident * 4096 : 0;
}

std::string Id(const char* prefix, std::uint64_t n) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  (void)ec;
  return std::string(prefix) + std::string(buf, end);
}

Event MakeEvent(const Sku& sku, std::uint64_t seq, EventPayload payload) {
  Event e;
  e.envelope.event_id = {seq, seq};
  e.envelope.schema_version = kSchemaVersion;
  e.envelope.occurred_at_ms = kStart;
  e.envelope.sku = sku;
  e.envelope.command_event_count = 1;
  e.payload = std::move(payload);
  return e;
}

struct Fixture {
  State state;
  std::vector<Sku> skus;
  std::vector<WarehouseCode> warehouses;
  double bytes_per_level = 0;
  std::uint64_t seq = 0;
  TimeMs now = kStart;

  Fixture() {
    std::size_t count = 1'000'000;
    if (const char* env = std::getenv("LEDGER_BENCH_SKUS")) count = std::strtoull(env, nullptr, 10);
    std::size_t rss_before = ResidentBytes();
    for (int w = 0; w < kWarehouses; ++w) {
      warehouses.emplace_back(Id("WH-", static_cast<std::uint64_t>(w)));
      Apply(MakeEvent(Sku(), ++seq, WarehouseRegistered{warehouses.back(), "Warehouse", "eu", w, true}));
    }
    skus.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      skus.emplace_back(Id("SKU-", i));
      Apply(MakeEvent(skus.back(), ++seq, ItemCreated{"Item", "general", {}, 10, 100}));
      for (const WarehouseCode& w : warehouses) {
        Apply(MakeEvent(skus.back(), ++seq, StockReceived{w, kMovementQuantityMax, ""}));
      }
    }
    std::size_t rss_after = ResidentBytes();
    bytes_per_level = static_cast<double>(rss_after - rss_before) / static_cast<double>(count * kWarehouses);
  }

  void Apply(const Event& e) {
    if (!Evolve(state, e).ok()) std::abort();
  }

  Command Next(CommandBody body) {
    now += DurationMs{1};
    return Command{{CommandId(Id("c", ++seq)), now, "bench", ""}, std::move(body)};
  }
};

Reserve MakeReserve(ReservationId id, std::vector<ReserveLine> lines) {
  Reserve r;
  r.reservation_id = std::move(id);
  r.order_id = OrderId("o");
  r.lines = std::move(lines);
  return r;
}

Fixture& Shared() {
  static Fixture* fixture = new Fixture();
  return *fixture;
}

void Report(benchmark::State& bm, const Fixture& f) {
  bm.SetItemsProcessed(bm.iterations());
  bm.counters["state_bytes_per_level"] = f.bytes_per_level;
}

void BM_ReserveSingleLine(benchmark::State& bm) {
  Fixture& f = Shared();
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::size_t> pick(0, f.skus.size() - 1);
  for (auto _ : bm) {
    Reserve r = MakeReserve(ReservationId(Id("r", f.seq)), {{f.skus[pick(rng)], 1, f.warehouses[f.seq % 3]}});
    Decision d = DecideAndApply(f.state, f.Next(std::move(r)));
    if (!d.accepted()) bm.SkipWithError("rejected");
    benchmark::DoNotOptimize(d);
  }
  Report(bm, f);
}
BENCHMARK(BM_ReserveSingleLine);

void BM_ReserveSingleLineAllocated(benchmark::State& bm) {
  Fixture& f = Shared();
  std::mt19937_64 rng(2);
  std::uniform_int_distribution<std::size_t> pick(0, f.skus.size() - 1);
  for (auto _ : bm) {
    Reserve r = MakeReserve(ReservationId(Id("r", f.seq)), {{f.skus[pick(rng)], 1, WarehouseCode()}});
    Decision d = DecideAndApply(f.state, f.Next(std::move(r)));
    if (!d.accepted()) bm.SkipWithError("rejected");
    benchmark::DoNotOptimize(d);
  }
  Report(bm, f);
}
BENCHMARK(BM_ReserveSingleLineAllocated);

void BM_ReserveFiveLines(benchmark::State& bm) {
  Fixture& f = Shared();
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::size_t> pick(0, f.skus.size() - 1);
  for (auto _ : bm) {
    Reserve r = MakeReserve(ReservationId(Id("r", f.seq)), {});
    for (int i = 0; i < 5; ++i) r.lines.push_back({f.skus[pick(rng)], 2, WarehouseCode()});
    Decision d = DecideAndApply(f.state, f.Next(std::move(r)));
    if (!d.accepted()) bm.SkipWithError("rejected");
    benchmark::DoNotOptimize(d);
  }
  Report(bm, f);
}
BENCHMARK(BM_ReserveFiveLines);

// Single-line reservations decided in batches of 256, as the writer decides
// a batch: Arg(0) decides them one after another; Arg(k) first asks for the
// memory of the command k places ahead (State::Prefetch), as Writer::Decide
// does with k = 4. The command ids and reservation ids are new each time, so
// each decide probes the two tables that grow with every reservation.
void BM_ReserveBatchPrefetch(benchmark::State& bm) {
  Fixture& f = Shared();
  const auto ahead = static_cast<std::size_t>(bm.range(0));
  constexpr std::size_t kBatch = 256;
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::size_t> pick(0, f.skus.size() - 1);
  std::vector<Command> batch;
  for (auto _ : bm) {
    batch.clear();
    for (std::size_t i = 0; i < kBatch; ++i) {
      batch.push_back(f.Next(MakeReserve(ReservationId(Id("r", f.seq)), {{f.skus[pick(rng)], 1, f.warehouses[f.seq % 3]}})));
    }
    for (std::size_t i = 0; i < std::min(ahead, kBatch); ++i) f.state.Prefetch(batch[i]);
    for (std::size_t i = 0; i < kBatch; ++i) {
      if (ahead > 0 && i + ahead < kBatch) f.state.Prefetch(batch[i + ahead]);
      Decision d = DecideAndApply(f.state, batch[i]);
      if (!d.accepted()) bm.SkipWithError("rejected");
      benchmark::DoNotOptimize(d);
    }
  }
  bm.SetItemsProcessed(bm.iterations() * static_cast<std::int64_t>(kBatch));
  bm.counters["reservations_in_state"] = static_cast<double>(f.state.reservations().size());
}
BENCHMARK(BM_ReserveBatchPrefetch)->Arg(0)->Arg(4)->Arg(0)->Arg(4);

// Commits are timed alone: each round reserves kRound units untimed, then
// times committing them.
void BM_Commit(benchmark::State& bm) {
  Fixture& f = Shared();
  constexpr int kRound = 10'000;
  std::mt19937_64 rng(4);
  std::uniform_int_distribution<std::size_t> pick(0, f.skus.size() - 1);
  std::vector<ReservationId> ids;
  for (auto _ : bm) {
    ids.clear();
    for (int i = 0; i < kRound; ++i) {
      ids.emplace_back(Id("r", f.seq));
      Reserve r = MakeReserve(ids.back(), {{f.skus[pick(rng)], 1, f.warehouses[f.seq % 3]}});
      if (!DecideAndApply(f.state, f.Next(std::move(r))).accepted()) bm.SkipWithError("reserve rejected");
    }
    auto start = std::chrono::steady_clock::now();
    for (const ReservationId& id : ids) {
      Decision d = DecideAndApply(f.state, f.Next(CommitReservation{id}));
      if (!d.accepted()) bm.SkipWithError("commit rejected");
      benchmark::DoNotOptimize(d);
    }
    bm.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  bm.SetItemsProcessed(bm.iterations() * kRound);
  bm.counters["state_bytes_per_level"] = f.bytes_per_level;
}
BENCHMARK(BM_Commit)->UseManualTime();

void BM_Adjust(benchmark::State& bm) {
  Fixture& f = Shared();
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::size_t> pick(0, f.skus.size() - 1);
  Quantity delta = -1;
  for (auto _ : bm) {
    delta = -delta;
    AdjustStock a{f.skus[pick(rng)], f.warehouses[f.seq % 3], delta, AdjustmentReason::kCorrection, ""};
    Decision d = DecideAndApply(f.state, f.Next(std::move(a)));
    if (!d.accepted()) bm.SkipWithError("rejected");
    benchmark::DoNotOptimize(d);
  }
  Report(bm, f);
}
BENCHMARK(BM_Adjust);

}  // namespace
}  // namespace ledger

BENCHMARK_MAIN();
