// inventoryd: the ledger service. One binary hosting any set of roles.
//
//   inventoryd serve [--data-dir ./data] [--listen 127.0.0.1:50051]
//                    [--log-backend embedded|kafka] [--kafka-brokers H:P]
//                    [--kafka-topic inventory.events] [--partitions 8]
//                    [--default-ttl-ms 900000] [--snapshot-every-events N]
//                    [--snapshot-every-seconds T] [--roles all|command,projector,query]
//                    [--rebuild-views] [--projector-batch-events N]
//                    [--orders-brokers H:P] [--orders-topic order.events]
//                    [--orders-group G] [--orders-dlq-topic order.events.dlq]
//                    [--public-brokers H:P] [--public-topic inventory.public]
//
// Every flag also reads an INVENTORY_* environment variable (see --help).
// Roles: command (CommandService, the single writer, expiry, and with
// --orders-brokers the order-event consumer and integration-event publisher),
// projector (folds the log into the read models in <data-dir>/views) and query
// (QueryService over those views; needs projector in the same process).
// --roles all (the default) runs all three.
//
// On start it loads the newest valid snapshot, replays the log after it, then
// serves; the first line on stdout is "listening on <host:port>" (with the
// real port when --listen asks for port 0). SIGTERM or SIGINT: stop accepting,
// finish the calls in flight, drain the writer, save a snapshot, exit 0.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "base/clock.h"
#include "command-api/command_service.h"
#include "command-api/expiry.h"
#include "command-api/writer.h"
#include "projector/projector.h"
#include "query-api/query_service.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "eventlog/kafka_log.h"
#include "eventlog/rocksdb_log.h"
#include "command-api/snapshot_store.h"
#include "orders/orders_role.h"
#include "logging/log_format.h"
#include "metrics/collectors.h"
#include "metrics/grpc_interceptor.h"
#include "metrics/registry.h"
#include "metrics/service_metrics.h"
#include "google/protobuf/descriptor.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

struct ServeFlags {
  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:50051";
  std::string log_backend = "embedded";
  std::string kafka_brokers;
  std::string kafka_topic = "inventory.events";
  std::uint32_t partitions = 8;
  std::int64_t default_ttl_ms = 15 * 60 * 1000;
  std::uint64_t snapshot_every_events = 1'000'000;
  std::int64_t snapshot_every_seconds = 300;
  std::string roles = "all";
  bool rebuild_views = false;
  size_t projector_batch_events = 10'000;
};

void AddServeFlags(CLI::App* serve, ServeFlags& f) {
  serve->add_option("--data-dir", f.data_dir, "Directory for the embedded log and snapshots")
      ->envname("INVENTORY_DATA_DIR")->capture_default_str();
  serve->add_option("--listen", f.listen, "gRPC listen address (port 0 picks a free port)")
      ->envname("INVENTORY_LISTEN")->capture_default_str();
  serve->add_option("--log-backend", f.log_backend, "Event log: embedded (RocksDB in --data-dir) or kafka")
      ->envname("INVENTORY_LOG_BACKEND")->check(CLI::IsMember({"embedded", "kafka"}))->capture_default_str();
  serve->add_option("--kafka-brokers", f.kafka_brokers, "Kafka bootstrap servers, host:port[,...] (kafka backend)")
      ->envname("INVENTORY_KAFKA_BROKERS");
  serve->add_option("--kafka-topic", f.kafka_topic, "Kafka topic of the event log")
      ->envname("INVENTORY_KAFKA_TOPIC")->capture_default_str();
  serve->add_option("--partitions", f.partitions, "Partitions of the log; fixed when the log is created")
      ->envname("INVENTORY_PARTITIONS")->check(CLI::Range(1, 1024))->capture_default_str();
  serve->add_option("--default-ttl-ms", f.default_ttl_ms, "Reservation TTL when a request gives none, ms")
      ->envname("INVENTORY_DEFAULT_TTL_MS")->check(CLI::Range(1'000LL, 7LL * 24 * 3600 * 1000))
      ->capture_default_str();
  serve->add_option("--snapshot-every-events", f.snapshot_every_events, "Snapshot after this many events (0: never)")
      ->envname("INVENTORY_SNAPSHOT_EVERY_EVENTS")->capture_default_str();
  serve->add_option("--snapshot-every-seconds", f.snapshot_every_seconds,
                    "Snapshot after this many seconds if anything changed (0: never)")
      ->envname("INVENTORY_SNAPSHOT_EVERY_SECONDS")->capture_default_str();
  serve->add_option("--roles", f.roles,
                    "Comma-separated roles to run: command, projector, query (needs projector), all (= "
                    "command,projector,query). The embedded log admits one process, so split roles across "
                    "processes only with --log-backend kafka")
      ->envname("INVENTORY_ROLES")->capture_default_str();
  serve->add_flag("--rebuild-views", f.rebuild_views,
                  "Projector: drop the read models in <data-dir>/views and fold the log again from position zero")
      ->envname("INVENTORY_REBUILD_VIEWS");
  serve->add_option("--projector-batch-events", f.projector_batch_events,
                    "Projector: most events folded into one read-model write")
      ->envname("INVENTORY_PROJECTOR_BATCH_EVENTS")->check(CLI::Range(1, 100'000))->capture_default_str();
}

struct Roles {
  bool command = false;
  bool projector = false;
  bool query = false;
};

absl::StatusOr<Roles> ParseRoles(const std::string& list) {
  Roles roles;
  for (absl::string_view piece : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    std::string role(absl::StripAsciiWhitespace(piece));
    if (role == "all") {
      roles.command = roles.projector = roles.query = true;
    } else if (role == "command") {
      roles.command = true;
    } else if (role == "projector") {
      roles.projector = true;
    } else if (role == "query") {
      roles.query = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--roles: unknown role '", role, "' (known: command, projector, query, all)"));
    }
  }
  if (!roles.command && !roles.projector && !roles.query) return absl::InvalidArgumentError("--roles: no role given");
  if (roles.query && !roles.projector) {
    return absl::InvalidArgumentError("--roles: query reads the views this process projects; add projector");
  }
  return roles;
}

uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t sum = 0;
  for (uint64_t x : v) sum += x;
  return sum;
}

absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenLog(const ServeFlags& f, const Roles& roles) {
  if (f.log_backend == "kafka") {
    if (f.kafka_brokers.empty()) return absl::InvalidArgumentError("--kafka-brokers is required with --log-backend kafka");
    eventlog::KafkaLogOptions o;
    o.bootstrap_servers = f.kafka_brokers;
    o.topic = f.kafka_topic;
    o.partition_count = f.partitions;
    if (!roles.command) o.role = eventlog::KafkaLogRole::kReadOnly;  // never a writer: fences no one
    auto log = eventlog::KafkaLog::Open(o);
    if (!log.ok()) return log.status();
    return std::unique_ptr<eventlog::EventLog>(std::move(*log));
  }
  eventlog::RocksDbLogOptions o;
  o.path = (std::filesystem::path(f.data_dir) / "log").string();
  o.partition_count = f.partitions;
  auto log = eventlog::RocksDbLog::Open(o);
  if (!log.ok()) return log.status();
  return std::unique_ptr<eventlog::EventLog>(std::move(*log));
}

// Blocks SIGINT/SIGTERM in every thread (call before starting any), so
// WaitForSignal receives them synchronously.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Order events in, dead letters and integration events out (orders/, docs/orders.md).
struct OrdersFlags {
  std::string brokers;
  std::string topic = "order.events";
  std::string group = "inventory-orders";
  std::string dlq_topic = "order.events.dlq";
  std::string public_brokers;
  std::string public_topic = "inventory.public";
  std::size_t batch_messages = 8'192;
};

void AddOrdersFlags(CLI::App* serve, OrdersFlags& f) {
  serve->add_option("--orders-brokers", f.brokers, "Kafka for order events, host:port[,...]; empty: no consumer")
      ->envname("INVENTORY_ORDERS_BROKERS");
  serve->add_option("--orders-topic", f.topic, "Topic of order events (JSON)")
      ->envname("INVENTORY_ORDERS_TOPIC")->capture_default_str();
  serve->add_option("--orders-group", f.group, "Consumer group of the order-event consumer")
      ->envname("INVENTORY_ORDERS_GROUP")->capture_default_str();
  serve->add_option("--orders-dlq-topic", f.dlq_topic, "Topic for order events that cannot be applied")
      ->envname("INVENTORY_ORDERS_DLQ_TOPIC")->capture_default_str();
  serve->add_option("--orders-batch-messages", f.batch_messages,
                    "Most order events applied and committed as one batch")
      ->envname("INVENTORY_ORDERS_BATCH_MESSAGES")->check(CLI::Range(1, 65'536))->capture_default_str();
  serve->add_option("--public-brokers", f.public_brokers,
                    "Kafka for integration events (default: --orders-brokers; neither: no publisher)")
      ->envname("INVENTORY_PUBLIC_BROKERS");
  serve->add_option("--public-topic", f.public_topic, "Topic of integration events (inventory.*, JSON)")
      ->envname("INVENTORY_PUBLIC_TOPIC")->capture_default_str();
}

orders::OrdersRoleOptions ToOptions(const OrdersFlags& o, const ServeFlags& f) {
  orders::OrdersRoleOptions r;
  r.consume = !o.brokers.empty();
  r.consumer.bootstrap_servers = o.brokers;
  r.consumer.topic = o.topic;
  r.consumer.group_id = o.group;
  r.consumer.dlq_topic = o.dlq_topic;
  r.consumer.public_topic = o.public_topic;
  r.consumer.commands.reservation_ttl_ms = f.default_ttl_ms;
  r.consumer.batch_messages_max = o.batch_messages;
  const std::string& public_brokers = o.public_brokers.empty() ? o.brokers : o.public_brokers;
  r.publish = !public_brokers.empty();
  r.publisher.producer.bootstrap_servers = public_brokers;
  r.publisher.topic = o.public_topic;
  r.publisher.position_path = std::filesystem::path(f.data_dir) / "publisher.position";
  return r;
}

// ---- observability (metrics/, logging/, docs/metrics.md) ----
struct ObsFlags {
  std::string log_format = "text";
  bool access_log = false;
  size_t stock_level_series_max = 1000;
};

void AddObsFlags(CLI::App* serve, ObsFlags& f) {
  serve->add_option("--log-format", f.log_format, "Log lines on stderr: text, or json (one object per line)")
      ->envname("INVENTORY_LOG_FORMAT")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  serve->add_flag("--access-log", f.access_log, "Log every gRPC call (method, code, duration, peer, trace id)")
      ->envname("INVENTORY_ACCESS_LOG");
  serve->add_option("--metrics-stock-series-max", f.stock_level_series_max,
                    "Most inventory_stock_level{sku,warehouse} series a scrape returns")
      ->envname("INVENTORY_METRICS_STOCK_SERIES_MAX")->check(CLI::Range(0, 100'000))->capture_default_str();
}

// Every method of our services, so each gets its own `method` label.
std::vector<std::string> OurGrpcMethods() {
  std::vector<std::string> out;
  for (const char* name : {"inventory.v1.CommandService", "inventory.v1.QueryService"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      out.push_back("/" + service->full_name() + "/" + service->method(i)->name());
    }
  }
  return out;
}

// The process's metrics: recorded by the components (ServiceMetrics, passed
// in their options) and read from them at scrape time (collectors).
// Expose() is the /metrics body: the HTTP server's route serves it.
struct Observability {
  metrics::Registry registry;
  metrics::ServiceMetrics service{&registry};
};

int Serve(const ServeFlags& f, const OrdersFlags& orders_flags, const ObsFlags& obs_flags) {
  logging::SetUpLogging(*logging::ParseLogFormat(obs_flags.log_format), f.roles, obs_flags.access_log);
  Observability obs;
  obs.service.AddGrpcMethods(OurGrpcMethods());
  sigset_t stop_signals = BlockStopSignals();
  absl::StatusOr<Roles> roles = ParseRoles(f.roles);
  if (!roles.ok()) {
    spdlog::error("{}", roles.status().ToString());
    return 2;
  }
  if (!roles->command && !orders_flags.brokers.empty()) {
    spdlog::error("--orders-brokers needs the command role: order events become commands");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(f.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", f.data_dir, ec.message());
    return 1;
  }
  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<eventlog::EventLog>> log = OpenLog(f, *roles);
  if (!log.ok()) {
    spdlog::error("cannot open the event log: {}", log.status().ToString());
    return 1;
  }
  base::SystemClock clock;
  command_api::SnapshotStore snapshots(std::filesystem::path(f.data_dir) / "snapshots", {});
  std::unique_ptr<command_api::Writer> writer;
  std::unique_ptr<command_api::ExpiryScheduler> expiry;
  std::unique_ptr<command_api::CommandServiceImpl> command_service;
  std::unique_ptr<orders::OrdersRole> orders_role;
  if (roles->command) {
    command_api::WriterOptions writer_options;
    writer_options.snapshot_every_events = f.snapshot_every_events;
    writer_options.snapshot_every_ms = f.snapshot_every_seconds * 1000;
    writer_options.metrics = &obs.service;
    auto opened = command_api::Writer::Open(log->get(), &snapshots, &clock, writer_options);
    if (!opened.ok()) {
      spdlog::error("cannot rebuild the ledger state: {}", opened.status().ToString());
      return 1;
    }
    writer = std::move(*opened);
    command_api::WriterStats stats = writer->stats();
    auto ready_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("state rebuilt in {} ms: snapshot {}, {} events replayed", ready_ms,
                 stats.loaded_snapshot ? "loaded" : "none", stats.replayed_events);
    expiry = std::make_unique<command_api::ExpiryScheduler>(writer.get(), &clock);
    expiry->Start();
    auto started_orders = orders::OrdersRole::Start(writer.get(), log->get(), ToOptions(orders_flags, f));
    if (!started_orders.ok()) {
      spdlog::error("cannot start the order-event consumer / publisher: {}", started_orders.status().ToString());
      return 1;
    }
    orders_role = std::move(*started_orders);
    command_api::CommandServiceOptions service_options;
    service_options.translate.default_ttl_ms = f.default_ttl_ms;
    command_service = std::make_unique<command_api::CommandServiceImpl>(writer.get(), service_options);
  }
  std::unique_ptr<projector::Projector> views;
  if (roles->projector) {
    projector::ProjectorOptions options;
    options.path = (std::filesystem::path(f.data_dir) / "views").string();
    options.rebuild = f.rebuild_views;
    options.batch_events_max = f.projector_batch_events;
    options.metrics = &obs.service;
    auto opened = projector::Projector::Start(log->get(), options, &clock);
    if (!opened.ok()) {
      spdlog::error("cannot start the projector: {}", opened.status().ToString());
      return 1;
    }
    views = std::move(*opened);
    spdlog::info("projector following the log from {} applied events; {} behind", Sum(views->applied()),
                 views->lag().events);
  }

  std::unique_ptr<query_api::ViewSource> view_source;
  std::unique_ptr<query_api::QueryServiceImpl> query_service;
  if (roles->query) {
    view_source = query_api::ProjectorSource(views.get());
    query_api::QueryServiceOptions query_options;
    query_options.stream.metrics = &obs.service;
    auto created = query_api::QueryServiceImpl::Create(view_source.get(), query_options);
    if (!created.ok()) {
      spdlog::error("cannot start the query service: {}", created.status().ToString());
      return 1;
    }
    query_service = std::move(*created);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(f.listen, grpc::InsecureServerCredentials(), &port);
  if (command_service) builder.RegisterService(command_service.get());
  if (query_service) builder.RegisterService(query_service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<metrics::GrpcMetricsFactory>(&obs.service));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  metrics::AddAllCollectors(&obs.registry, {.roles = f.roles,
                                            .log = log->get(),
                                            .projector = views.get(),
                                            .query = query_service.get(),
                                            .consumer = orders_role ? orders_role->consumer() : nullptr,
                                            .publisher = orders_role ? orders_role->publisher() : nullptr,
                                            .stock = {.stock_level_series_max = obs_flags.stock_level_series_max}});
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    spdlog::error("cannot listen on {}", f.listen);
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  std::string host = f.listen.substr(0, f.listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  spdlog::info("serving roles [{}] on {}:{} ({} log)", f.roles, host, port, f.log_backend);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("signal {}: draining", signal_number);
  server->GetHealthCheckService()->SetServingStatus(false);
  if (query_service) query_service->Drain();  // streams end UNAVAILABLE (resumable), parked reads answered
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  query_service.reset();
  if (orders_role) orders_role->Stop();
  if (expiry) expiry->Stop();
  if (writer) writer->Stop();
  if (views) views->Stop();
  absl::Status closed = (*log)->Close();
  if (!closed.ok()) spdlog::warn("closing the log: {}", closed.ToString());
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inventoryd: event-sourced inventory ledger service"};
  app.require_subcommand(1);
  ServeFlags flags;
  CLI::App* serve = app.add_subcommand("serve", "Run the service (all roles by default, embedded log in ./data)");
  AddServeFlags(serve, flags);
  OrdersFlags orders_flags;
  AddOrdersFlags(serve, orders_flags);
  ObsFlags obs_flags;
  AddObsFlags(serve, obs_flags);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("inventoryd"));  // stdout carries only the address line
  if (serve->parsed()) return Serve(flags, orders_flags, obs_flags);
  return 0;
}
