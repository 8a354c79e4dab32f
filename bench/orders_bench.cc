// orders_bench: order events per second end to end. Each run starts
// librdkafka's mock cluster in-process, opens a fresh embedded (RocksDB) log
// and the single writer, seeds a warehouse and --skus items with stock, then
// produces --orders order.created messages (one line each, keyed by order id)
// while the order-event consumer applies them, and measures from the first
// produce to the moment every order is reserved (durable, offsets committed).
//
// The mock cluster keeps only a few MB per partition, so the producer stays
// at most --lag-max messages ahead of the consumer instead of loading the
// topic first. Also prints the parser alone (simdjson On-Demand) per message.
//
//   orders_bench [--orders 1000000] [--skus 1000] [--partitions 16] [--runs 3] [--batch 8192]
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "simdjson.h"
#include "base/clock.h"
#include "command-api/writer.h"
#include "eventlog/rocksdb_log.h"
#include "eventlog/testing/mock_kafka_cluster.h"
#include "orders/order_consumer.h"
#include "orders/order_event.h"
#include "spdlog/spdlog.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::size_t orders = 1'000'000;
  std::size_t skus = 1'000;
  int partitions = 16;
  int runs = 3;
  std::size_t batch = 8'192;
  std::size_t lag_max = 100'000;
};

std::vector<std::string> Messages(const Flags& f) {
  std::vector<std::string> out;
  out.reserve(f.orders);
  for (std::size_t i = 0; i < f.orders; ++i) {
    out.push_back("{\"type\":\"order.created\",\"eventId\":\"ev-" + std::to_string(i) + "\",\"orderId\":\"bench-" +
                  std::to_string(i) + "\",\"timestamp\":\"2026-03-01T12:00:00Z\",\"items\":[{\"sku\":\"SKU-" +
                  std::to_string(i % f.skus) + "\",\"quantity\":1,\"warehouseId\":\"W1\"}]}");
  }
  return out;
}

void Must(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void SubmitAndWait(command_api::Writer* writer, ledger::CommandBody body, const std::string& id) {
  std::promise<absl::Status> done;
  ledger::Command c{{ledger::CommandId(id), {}, "bench", ""}, std::move(body)};
  Must(writer->Submit(std::move(c), [&](const command_api::WriteResult& r, const ledger::State&) {
    done.set_value(r.status);
  }), "submit");
  Must(done.get_future().get(), id.c_str());
}

// CPU seconds this process has used (every thread: consumer, writer,
// RocksDB, librdkafka, the mock broker and the bench's own producer).
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

double ParseOnly(const std::vector<std::string>& messages) {
  orders::OrderEventParser parser;
  auto t0 = Clock::now();
  std::size_t ok = 0;
  for (const std::string& m : messages) ok += parser.Parse(m, "").ok() ? 1 : 0;
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (ok != messages.size()) std::fprintf(stderr, "parse failures: %zu\n", messages.size() - ok);
  return static_cast<double>(messages.size()) / s;
}

double Run(const Flags& f, const std::vector<std::string>& messages, int run) {
  char errstr[512];
  eventlog::MockKafkaCluster cluster;
  cluster.CreateTopic("order.events", f.partitions);
  cluster.CreateTopic("order.events.dlq", 1);
  cluster.CreateTopic("inventory.public", 1);
  const std::string brokers = cluster.bootstraps();

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("orders_bench_" + std::to_string(::getpid()) + "_" + std::to_string(run));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  eventlog::RocksDbLogOptions log_options;
  log_options.path = (dir / "log").string();
  auto log = eventlog::RocksDbLog::Open(log_options);
  Must(log.status(), "log");
  base::SystemClock clock;
  auto writer = command_api::Writer::Open(log->get(), nullptr, &clock, {});
  Must(writer.status(), "writer");
  command_api::Writer* w = writer->get();
  SubmitAndWait(w, ledger::RegisterWarehouse{ledger::WarehouseCode("W1"), "W1", "eu", 1, true}, "wh");
  for (std::size_t i = 0; i < f.skus; ++i) {
    const std::string sku = "SKU-" + std::to_string(i);
    SubmitAndWait(w, ledger::CreateItem{ledger::Sku(sku), sku, "", {}, 0, 0}, "item-" + sku);
    SubmitAndWait(w, ledger::ReceiveStock{ledger::Sku(sku), ledger::WarehouseCode("W1"),
                                          static_cast<ledger::Quantity>(f.orders / f.skus + 1), ""},
                  "recv-" + sku);
  }

  orders::OrderConsumerOptions options;
  options.bootstrap_servers = brokers;
  options.batch_messages_max = f.batch;
  options.group_id = "bench-" + std::to_string(run);
  auto consumer = orders::OrderConsumer::Open(w, options);
  Must(consumer.status(), "consumer");

  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  rd_kafka_conf_set(pconf, "bootstrap.servers", brokers.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(pconf, "linger.ms", "20", errstr, sizeof(errstr));
  rd_kafka_conf_set(pconf, "queue.buffering.max.messages", "1000000", errstr, sizeof(errstr));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof(errstr));
  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer, "order.events", nullptr);

  (*consumer)->Start();
  // Wait for the group assignment before the clock starts: joining is set-up.
  while ((*consumer)->stats().batches == 0) {
    const std::string warm = "{\"type\":\"payment.failed\",\"eventId\":\"warm\",\"orderId\":\"warm\"}";
    rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(warm.data()), warm.size(),
                     "warm", 4, nullptr);
    rd_kafka_flush(producer, 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const std::uint64_t warm_messages = (*consumer)->stats().messages;

  const auto t0 = Clock::now();
  const double cpu0 = CpuSeconds();
  std::thread produce([&] {
    for (std::size_t i = 0; i < messages.size(); ++i) {
      while (i - std::min<std::size_t>(i, (*consumer)->stats().messages - warm_messages) > f.lag_max) {
        rd_kafka_poll(producer, 1);
      }
      const std::string key = "bench-" + std::to_string(i);
      while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                              const_cast<char*>(messages[i].data()), messages[i].size(), key.data(), key.size(),
                              nullptr) != 0) {
        rd_kafka_poll(producer, 10);
      }
    }
    rd_kafka_flush(producer, 60'000);
  });
  while ((*consumer)->stats().reserved < f.orders) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const orders::OrderConsumerStats s = (*consumer)->stats();
    if (s.dead_letters + s.reservation_failed > 0) {
      std::fprintf(stderr, "unexpected: %lu dead letters, %lu refused\n", s.dead_letters, s.reservation_failed);
      std::exit(1);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  produce.join();
  const orders::OrderConsumerStats s = (*consumer)->stats();
  const command_api::WriterStats ws = w->stats();
  std::printf(
      "run %d: %zu orders reserved in %.2f s = %.0f orders/s; process CPU %.2f s = %.1f us/order "
      "(consumer batches %lu, writer batches %lu)\n",
      run, f.orders, seconds, static_cast<double>(f.orders) / seconds, cpu, cpu * 1e6 / static_cast<double>(f.orders),
      s.batches, ws.batches);
  std::fflush(stdout);

  (*consumer)->Stop();
  consumer->reset();
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(producer);
  w->Stop();
  writer->reset();
  Must((*log)->Close(), "close");
  log->reset();
  std::filesystem::remove_all(dir);
  return static_cast<double>(f.orders) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"orders_bench: order events per second, Kafka (mock) to durable reservations"};
  Flags f;
  app.add_option("--orders", f.orders, "order.created messages per run")->capture_default_str();
  app.add_option("--skus", f.skus, "distinct SKUs the orders spread over")->capture_default_str();
  app.add_option("--partitions", f.partitions, "partitions of order.events")->capture_default_str();
  app.add_option("--runs", f.runs, "runs; the median is reported")->capture_default_str();
  app.add_option("--batch", f.batch, "consumer batch_messages_max")->capture_default_str();
  app.add_option("--lag-max", f.lag_max, "most messages the producer runs ahead")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  const std::vector<std::string> messages = Messages(f);
  std::printf("parser alone: %.0f messages/s (simdjson %s kernel)\n", ParseOnly(messages),
              simdjson::builtin_implementation()->name().c_str());
  std::vector<double> rates;
  for (int r = 0; r < f.runs; ++r) rates.push_back(Run(f, messages, r));
  std::sort(rates.begin(), rates.end());
  std::printf("median of %d runs: %.0f orders/s end to end\n", f.runs, rates[rates.size() / 2]);
  return 0;
}
