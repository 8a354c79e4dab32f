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
//                    [--orders-batch-messages N] [--orders-typed-topic T=TYPE]
//                    [--orders-field-alias A=F] [--orders-type-alias A=TYPE]
//                    [--orders-cloudevents]
//                    [--public-brokers H:P] [--public-topic inventory.public]
//                    [--http-listen H:P] [--ready-lag-events-max N]
//                    [--shutdown-grace-ms 1000] [--fenced-drain-ms 1000] [--standby-of H:P]
//
// Every flag also reads an INVENTORY_* environment variable (see --help), and
// every default is the default of the options struct the flag sets.
// Roles: command (CommandService, the single writer, expiry, and with
// --orders-brokers the order-event consumer and integration-event publisher),
// projector (folds the log into the read models in <data-dir>/views) and query
// (QueryService over those views; needs projector in the same process).
// --roles all (the default) runs all three.
//
// Serve, in order: (with --standby-of, follow the log as a warm standby until
// the writer is gone: tools/standby_flags.h); open the log (eventlog/open_log.h); start the roles
// (command-api/command_role.h loads the newest valid snapshot and replays the
// log after it; orders/orders_role.h; projector/projector.h;
// query-api/query_role.h); start the front doors (gRPC); print "listening on
// <host:port>" as the first line on stdout (with the real port when --listen
// asks for port 0). SIGTERM or SIGINT: health NOT_SERVING, streams ended
// UNAVAILABLE (resumable), the HTTP server closes every connection, gRPC
// sends GOAWAY and gives the calls in flight --shutdown-grace-ms (default
// 1 s) before cancelling them; then stop the roles in reverse order (the
// writer drains and saves a snapshot), close the log, exit 0. With idle
// clients connected this takes under 2 s (tests/shutdown_drain_test.py).
//
// A fenced writer (command-api/command_role.h; on Kafka, a newer writer took
// the transactional id): its commands are answered FAILED_PRECONDITION,
// health turns NOT_SERVING and GET /ready 503 at once; within 100 ms plus
// --fenced-drain-ms (default 1 s) the drain of SIGTERM starts, and it exits with
// kExitFenced (3), so that a supervisor restarts it as a new producer
// (docs/reliability.md "A fenced writer"). Exit codes: 0 stopped by a
// signal, 1 error, 2 bad flags, 3 fenced.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "command-api/command_role.h"
#include "eventlog/open_log.h"
#include "http-api/api_routes.h"
#include "http-api/http_server.h"
#include "orders/orders_role.h"
#include "projector/projector.h"
#include "query-api/query_role.h"
#include "rpc/in_flight.h"
#include "google/protobuf/descriptor.h"
#include "logging/log_format.h"
#include "metrics/collectors.h"
#include "metrics/grpc_interceptor.h"
#include "metrics/registry.h"
#include "metrics/service_metrics.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "tools/security_flags.h"
#include "tools/standby_flags.h"

namespace {

constexpr int kExitError = 1;
constexpr int kExitBadFlags = 2;
constexpr int kExitFenced = 3;  // the writer can never append again: restart me

// Flags of `serve`. Defaults come from the options structs they set.
struct ServeFlags {
  eventlog::LogConfig log;  // --data-dir, --kafka-brokers, --kafka-topic, --partitions
  std::string log_backend{eventlog::ToString(eventlog::LogConfig{}.backend)};
  std::string listen = "127.0.0.1:50051";
  std::string roles = "all";
  std::int64_t default_ttl_ms = command_api::TranslateOptions{}.default_ttl_ms.count();
  std::uint64_t snapshot_every_events = command_api::WriterOptions{}.snapshot_every_events;
  std::int64_t snapshot_every_seconds = command_api::WriterOptions{}.snapshot_every_ms / 1000;
  bool rebuild_views = projector::ProjectorOptions{}.rebuild;
  std::size_t projector_batch_events = projector::ProjectorOptions{}.batch_events_max;
  // After SIGTERM, how long calls in flight may take before they are cancelled, ms.
  std::int64_t shutdown_grace_ms = 1000;
  // Once the writer is fenced, how long the process stays up NOT_SERVING
  // before that drain, ms.
  std::int64_t fenced_drain_ms = 1000;
};

void AddServeFlags(CLI::App* serve, ServeFlags& f) {
  serve->add_option("--data-dir", f.log.data_dir, "Directory for the embedded log and snapshots")
      ->envname("INVENTORY_DATA_DIR")->capture_default_str();
  serve->add_option("--listen", f.listen, "gRPC listen address (port 0 picks a free port)")
      ->envname("INVENTORY_LISTEN")->capture_default_str();
  serve->add_option("--log-backend", f.log_backend, "Event log: embedded (RocksDB in --data-dir) or kafka")
      ->envname("INVENTORY_LOG_BACKEND")->check(CLI::IsMember(eventlog::LogBackendNames()))->capture_default_str();
  serve->add_option("--kafka-brokers", f.log.kafka_brokers, "Kafka bootstrap servers, host:port[,...] (kafka backend)")
      ->envname("INVENTORY_KAFKA_BROKERS");
  serve->add_option("--kafka-topic", f.log.kafka_topic, "Kafka topic of the event log")
      ->envname("INVENTORY_KAFKA_TOPIC")->capture_default_str();
  serve->add_option("--partitions", f.log.partitions, "Partitions of the log; fixed when the log is created")
      ->envname("INVENTORY_PARTITIONS")->check(CLI::Range(1, 1024))->capture_default_str();
  serve->add_option("--shutdown-grace-ms", f.shutdown_grace_ms,
                    "After SIGTERM, how long gRPC calls in flight may finish before they are cancelled, ms")
      ->envname("INVENTORY_SHUTDOWN_GRACE_MS")->check(CLI::Range(0LL, 60'000LL))->capture_default_str();
  serve->add_option("--fenced-drain-ms", f.fenced_drain_ms,
                    "Once another writer fenced this one: how long it stays up, NOT_SERVING and refusing commands, "
                    "before it drains as on SIGTERM and exits with code 3, ms")
      ->envname("INVENTORY_FENCED_DRAIN_MS")->check(CLI::Range(0LL, 60'000LL))->capture_default_str();
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

// Order events in, dead letters and integration events out (orders/, docs/orders.md).
struct OrdersFlags {
  std::string brokers;
  std::string topic = orders::OrderConsumerOptions{}.topic;
  std::string group = orders::OrderConsumerOptions{}.group_id;
  std::string dlq_topic = orders::OrderConsumerOptions{}.dlq_topic;
  std::string public_brokers;
  std::string public_topic = orders::PublisherOptions{}.topic;
  std::size_t batch_messages = orders::OrderConsumerOptions{}.batch_messages_max;
  // Upstream shapes (docs/orders.md, "Other upstream shapes"): NAME=VALUE each.
  std::vector<std::string> typed_topics;   // TOPIC=TYPE
  std::vector<std::string> field_aliases;  // ALIAS=FIELD
  std::vector<std::string> type_aliases;   // ALIAS=TYPE
  bool cloudevents = orders::OrderConsumerOptions{}.cloudevents;
};

// "A=B" as {A, B}; false when there is no '=' or a side is empty.
bool SplitPair(const std::string& text, std::pair<std::string, std::string>* out) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return false;
  *out = {text.substr(0, eq), text.substr(eq + 1)};
  return true;
}

// CLI11 check for NAME=VALUE options.
const CLI::Validator kPair(
    [](std::string& value) {
      std::pair<std::string, std::string> pair;
      return SplitPair(value, &pair) ? std::string() : "expected NAME=VALUE, got \"" + value + "\"";
    },
    "NAME=VALUE");

std::vector<std::pair<std::string, std::string>> Pairs(const std::vector<std::string>& texts) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& text : texts) SplitPair(text, &out.emplace_back());
  return out;
}

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
  serve->add_option("--orders-typed-topic", f.typed_topics,
                    "TOPIC=TYPE: also consume TOPIC, every message of type TYPE (repeatable)")
      ->envname("INVENTORY_ORDERS_TYPED_TOPICS")->delimiter(',')->check(kPair);
  serve->add_option("--orders-field-alias", f.field_aliases,
                    "ALIAS=FIELD: accept ALIAS for an order-event field, e.g. productId=sku (repeatable)")
      ->envname("INVENTORY_ORDERS_FIELD_ALIASES")->delimiter(',')->check(kPair);
  serve->add_option("--orders-type-alias", f.type_aliases,
                    "ALIAS=TYPE: accept ALIAS as an event type, e.g. OrderCreated=order.created (repeatable)")
      ->envname("INVENTORY_ORDERS_TYPE_ALIASES")->delimiter(',')->check(kPair);
  serve->add_flag("--orders-cloudevents", f.cloudevents,
                  "Read the type from ce_type and the eventId from ce_id headers (CloudEvents binary mode)")
      ->envname("INVENTORY_ORDERS_CLOUDEVENTS");
  serve->add_option("--public-brokers", f.public_brokers,
                    "Kafka for integration events (default: --orders-brokers; neither: no publisher)")
      ->envname("INVENTORY_PUBLIC_BROKERS");
  serve->add_option("--public-topic", f.public_topic, "Topic of integration events (inventory.*, JSON)")
      ->envname("INVENTORY_PUBLIC_TOPIC")->capture_default_str();
}

// Which roles --roles asks for.
struct RoleSet {
  bool command = false;
  bool projector = false;
  bool query = false;
};

absl::StatusOr<RoleSet> ParseRoles(const std::string& list) {
  RoleSet roles;
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

// The log as the roles need it: the embedded log belongs to this process
// whatever its roles; Kafka is opened read-only (fencing no writer) without
// the command role.
absl::StatusOr<eventlog::LogConfig> LogConfigFor(const ServeFlags& f, const RoleSet& which,
                                                  const eventlog::KafkaSettings& kafka_settings) {
  eventlog::LogConfig config = f.log;
  config.kafka_settings = kafka_settings;
  absl::StatusOr<eventlog::LogBackend> backend = eventlog::ParseLogBackend(f.log_backend);
  if (!backend.ok()) return backend.status();
  config.backend = *backend;
  const bool writer = which.command || config.backend == eventlog::LogBackend::kEmbedded;
  config.access = writer ? eventlog::LogAccess::kReadWrite : eventlog::LogAccess::kReadOnly;
  return config;
}

command_api::CommandRoleOptions CommandOptions(const ServeFlags& f) {
  command_api::CommandRoleOptions r;
  r.snapshot_dir = std::filesystem::path(f.log.data_dir) / "snapshots";
  r.writer.snapshot_every_events = f.snapshot_every_events;
  r.writer.snapshot_every_ms = f.snapshot_every_seconds * 1000;
  r.service.translate.default_ttl_ms = ledger::DurationMs{f.default_ttl_ms};
  return r;
}

orders::OrdersRoleOptions OrdersOptions(const OrdersFlags& o, const ServeFlags& f,
                                        const eventlog::KafkaSettings& kafka_settings) {
  orders::OrdersRoleOptions r;
  r.consumer.settings = kafka_settings;
  r.consumer.producer.settings = kafka_settings;
  r.publisher.producer.settings = kafka_settings;
  r.consume = !o.brokers.empty();
  r.consumer.bootstrap_servers = o.brokers;
  r.consumer.topic = o.topic;
  r.consumer.group_id = o.group;
  r.consumer.dlq_topic = o.dlq_topic;
  r.consumer.public_topic = o.public_topic;
  r.consumer.commands.reservation_ttl_ms = ledger::DurationMs{f.default_ttl_ms};
  r.consumer.batch_messages_max = o.batch_messages;
  r.consumer.typed_topics = Pairs(o.typed_topics);
  r.consumer.parser.field_aliases = Pairs(o.field_aliases);
  r.consumer.parser.type_aliases = Pairs(o.type_aliases);
  r.consumer.cloudevents = o.cloudevents;
  const std::string& public_brokers = o.public_brokers.empty() ? o.brokers : o.public_brokers;
  r.publish = !public_brokers.empty();
  r.publisher.producer.bootstrap_servers = public_brokers;
  r.publisher.topic = o.public_topic;
  r.publisher.position_path = std::filesystem::path(f.log.data_dir) / "publisher.position";
  return r;
}

projector::ProjectorOptions ProjectorOptionsFor(const ServeFlags& f) {
  projector::ProjectorOptions r;
  r.path = (std::filesystem::path(f.log.data_dir) / "views").string();
  r.rebuild = f.rebuild_views;
  r.batch_events_max = f.projector_batch_events;
  return r;
}

// The running roles. Started in declaration order, stopped in reverse (so
// also on destruction when a later one fails to start).
struct Roles {
  std::unique_ptr<command_api::CommandRole> command;
  std::unique_ptr<orders::OrdersRole> orders;  // with command: runs on its writer
  std::unique_ptr<projector::Projector> projector;
  std::unique_ptr<query_api::QueryRole> query;  // with projector: reads its views

  // REQUIRES: the front doors are stopped.
  void Stop() {
    if (query) query->Stop();
    if (projector) projector->Stop();
    if (orders) orders->Stop();
    if (command) command->Stop();
  }
};

absl::Status WithContext(absl::string_view what, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// Starts the roles in `which`; on an error the ones already started stop.
absl::Status StartRoles(const RoleSet& which, const ServeFlags& f, const OrdersFlags& o, eventlog::EventLog* log,
                        base::Clock* clock, const tools::Security& security, metrics::ServiceMetrics* metrics,
                        Roles& roles) {
  auth::Authenticator* authenticator = security.authenticator();
  const eventlog::KafkaSettings& kafka_settings = security.kafka_settings();
  if (which.command) {
    command_api::CommandRoleOptions command_options = CommandOptions(f);
    command_options.service.authenticator = authenticator;
    command_options.writer.metrics = metrics;
    auto command = command_api::CommandRole::Start(log, clock, command_options);
    if (!command.ok()) return WithContext("cannot rebuild the ledger state", command.status());
    roles.command = std::move(*command);
    auto orders = orders::OrdersRole::Start(roles.command->writer(), log, OrdersOptions(o, f, kafka_settings));
    if (!orders.ok()) return WithContext("cannot start the order-event consumer / publisher", orders.status());
    roles.orders = std::move(*orders);
  }
  if (which.projector) {
    projector::ProjectorOptions projector_options = ProjectorOptionsFor(f);
    projector_options.metrics = metrics;
    auto projector = projector::Projector::Start(log, projector_options, clock);
    if (!projector.ok()) return WithContext("cannot start the projector", projector.status());
    roles.projector = std::move(*projector);
    spdlog::info("projector following the log from {} applied events; {} behind", roles.projector->applied().Total(),
                 roles.projector->lag().events);
  }
  if (which.query) {
    query_api::QueryServiceOptions query_options;
    query_options.authenticator = authenticator;
    query_options.stream.metrics = metrics;
    auto query = query_api::QueryRole::Start(roles.projector.get(), query_options);
    if (!query.ok()) return WithContext("cannot start the query service", query.status());
    roles.query = std::move(*query);
  }
  return absl::OkStatus();
}

// The gRPC front door: the roles' services, health checking and reflection.
// Other front doors (an HTTP gateway, say) start after it, reach the services
// through server->InProcessChannel(), and stop before it.
struct GrpcFrontDoor {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // host:port, with the port actually bound
};

// Every call of our services first passes the in-flight bound's interceptor
// (rpc/in_flight.h) unless --requests-in-flight-max is 0; `metrics` null: nothing recorded, the metrics
// interceptor then runs only for the access log.
absl::StatusOr<GrpcFrontDoor> StartGrpc(const std::string& listen, const tools::Security& security,
                                        const Roles& roles, metrics::ServiceMetrics* metrics, bool access_log) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  tools::ApplyGrpcLimits(tools::GrpcLimits{}, &builder);
  int port = 0;
  builder.AddListeningPort(listen, security.credentials(), &port);
  if (roles.command) builder.RegisterService(roles.command->service());
  if (roles.query) builder.RegisterService(roles.query->service());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (security.in_flight()->options().calls_max > 0) {  // 0: no bound, and no interceptor to pay for
    interceptors.push_back(std::make_unique<rpc::InFlightInterceptorFactory>(security.in_flight()));
  }
  if (metrics != nullptr || access_log) interceptors.push_back(std::make_unique<metrics::GrpcMetricsFactory>(metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  GrpcFrontDoor door{builder.BuildAndStart(), ""};
  if (door.server == nullptr || port == 0) return absl::UnavailableError("cannot listen on " + listen);
  door.server->GetHealthCheckService()->SetServingStatus(true);
  // Each role's service by name too, so a probe that names its service (a
  // Kubernetes gRPC probe with `service:`) finds it; SetServingStatus(false)
  // at drain turns them all NOT_SERVING.
  if (roles.command) door.server->GetHealthCheckService()->SetServingStatus("inventory.v1.CommandService", true);
  if (roles.query) door.server->GetHealthCheckService()->SetServingStatus("inventory.v1.QueryService", true);
  door.address = absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
  return door;
}

// ---- HTTP/JSON front door (http-api/, docs/http.md) ----
struct HttpFlags {
  std::string listen;  // empty: no HTTP server
  std::uint64_t ready_lag_events_max = 1000;
};

void AddHttpFlags(CLI::App* serve, HttpFlags& f) {
  serve->add_option("--http-listen", f.listen,
                    "HTTP/JSON + SSE listen address host:port (port 0 picks a free port); empty: no HTTP server")
      ->envname("INVENTORY_HTTP_LISTEN");
  serve->add_option("--ready-lag-events-max", f.ready_lag_events_max,
                    "GET /ready answers 503 while the projector is more than this many events behind")
      ->envname("INVENTORY_READY_LAG_EVENTS_MAX")->capture_default_str();
}

// Starts the HTTP server over the gRPC server's in-process channel, so both
// front doors run the same service code. Prints "http listening on
// <host:port>" (the second stdout line). Null when not asked for.
absl::StatusOr<std::unique_ptr<http_api::HttpServer>> StartHttp(const HttpFlags& f, grpc::Server* server,
                                                                 const command_api::CommandRole* command,
                                                                 const projector::Projector* views,
                                                                 const metrics::Registry* registry,
                                                                 tools::Security* security) {
  if (f.listen.empty()) return nullptr;
  http_api::HttpServerOptions options;
  options.listen = f.listen;
  options.tls = security->http_tls();
  auto http = std::make_unique<http_api::HttpServer>(options);
  http_api::ApiOptions api;
  if (security->authenticator() != nullptr) api.edge_secret = security->authenticator()->edge_secret();
  std::uint64_t lag_max = f.ready_lag_events_max;
  api.ready = [command, views, lag_max]() -> absl::Status {
    if (command != nullptr) {
      if (absl::Status fenced = command->fenced(); !fenced.ok()) return fenced;  // a writer that cannot write
    }
    if (views == nullptr) return absl::OkStatus();  // no query role: the open log is all there is to be ready
    if (absl::Status h = views->health(); !h.ok()) return absl::UnavailableError("projector stopped: " + h.ToString());
    projector::Lag lag = views->lag();
    if (lag.events > lag_max) {
      return absl::UnavailableError(absl::StrCat("views are ", lag.events, " events behind the log (bound ", lag_max,
                                                 ")"));
    }
    return absl::OkStatus();
  };
  absl::Status s = http_api::RegisterApiRoutes(http.get(), server->InProcessChannel(grpc::ChannelArguments()), api);
  // GET /metrics: the registry's exposition (docs/metrics.md); none with --metrics off.
  if (s.ok() && registry != nullptr) {
    s = http->Register("GET", "/metrics", [registry](const http_api::HttpRequest&, std::shared_ptr<http_api::Exchange> x) {
      x->Respond({.status = 200, .content_type = "text/plain; version=0.0.4; charset=utf-8", .body = registry->Expose()});
    });
  }
  if (s.ok()) s = http->Start();
  if (!s.ok()) return WithContext("cannot start the HTTP server", s);
  security->OnReload("HTTP TLS certificate", [h = http.get()] { return h->ReloadTls(); });
  std::string host = f.listen.substr(0, f.listen.rfind(':'));
  std::printf("http listening on %s:%d\n", host.c_str(), http->port());
  std::fflush(stdout);
  return http;
}
// ---- end HTTP ----

// Blocks SIGINT/SIGTERM in every thread (call before starting any), so
// sigwait receives them synchronously.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

enum class StopCause : std::uint8_t { kSignal, kFenced };

// Waits for SIGINT/SIGTERM, or for the command role's writer to be fenced
// (looked at every 100 ms; health already turned NOT_SERVING by then) and
// then up to fenced_drain_ms more (a stop signal cuts that short).
StopCause WaitForStop(const sigset_t& stop_signals, const command_api::CommandRole* command,
                      std::int64_t fenced_drain_ms) {
  constexpr timespec kTick{0, 100'000'000};
  for (;;) {
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &kTick);
    if (signal_number > 0) {
      spdlog::info("signal {}: draining", signal_number);
      return StopCause::kSignal;
    }
    if (command != nullptr) {
      if (absl::Status fenced = command->fenced(); !fenced.ok()) {
        spdlog::error("{}; not serving; draining in {} ms, then exiting with code {}", fenced.ToString(),
                      fenced_drain_ms, kExitFenced);
        const timespec drain{fenced_drain_ms / 1000, (fenced_drain_ms % 1000) * 1'000'000};
        sigtimedwait(&stop_signals, nullptr, &drain);
        return StopCause::kFenced;
      }
    }
  }
}

int Fail(int exit_code, const absl::Status& status) {
  spdlog::error("{}", status.ToString());
  return exit_code;
}

// ---- observability (metrics/, logging/, docs/metrics.md) ----
struct ObsFlags {
  std::string log_format = "text";
  bool access_log = false;
  std::string metrics = "on";
  size_t stock_level_series_max = 1000;
};

void AddObsFlags(CLI::App* serve, ObsFlags& f) {
  serve->add_option("--log-format", f.log_format, "Log lines on stderr: text, or json (one object per line)")
      ->envname("INVENTORY_LOG_FORMAT")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  serve->add_flag("--access-log", f.access_log, "Log every gRPC call (method, code, duration, peer, trace id)")
      ->envname("INVENTORY_ACCESS_LOG");
  serve->add_option("--metrics", f.metrics,
                    "Prometheus metrics: on (GET /metrics on the HTTP port), or off (nothing recorded, no /metrics; "
                    "for measuring their overhead)")
      ->envname("INVENTORY_METRICS")->check(CLI::IsMember({"on", "off"}))->capture_default_str();
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
// in their options) and read from them at scrape time (collectors); the
// HTTP server's GET /metrics serves registry.Expose(). With --metrics off,
// recorded() and exposed() are null: the components record nothing.
struct Observability {
  explicit Observability(bool on) : on_(on) {}
  metrics::ServiceMetrics* recorded() { return on_ ? &service : nullptr; }
  const metrics::Registry* exposed() const { return on_ ? &registry : nullptr; }

  metrics::Registry registry;
  metrics::ServiceMetrics service{&registry};

 private:
  const bool on_;
};
// ---- end observability ----

int Serve(const ServeFlags& f, const OrdersFlags& orders_flags, const HttpFlags& http_flags,
          const tools::SecurityFlags& security_flags, const ObsFlags& obs_flags,
          const tools::StandbyFlags& standby_flags) {
  logging::SetUpLogging(*logging::ParseLogFormat(obs_flags.log_format), f.roles, obs_flags.access_log);
  Observability obs(obs_flags.metrics == "on");
  obs.service.AddGrpcMethods(OurGrpcMethods());
  sigset_t stop_signals = BlockStopSignals();
  // ---- security (tools/security_flags.h, docs/security.md) ----
  tools::BlockReloadSignal();
  base::SystemClock security_clock;
  absl::StatusOr<std::unique_ptr<tools::Security>> security =
      tools::Security::Create(security_flags, {f.listen, http_flags.listen}, &security_clock);
  if (!security.ok()) return Fail(kExitBadFlags, security.status());
  // ---- end security ----
  absl::StatusOr<RoleSet> which = ParseRoles(f.roles);
  if (!which.ok()) return Fail(kExitBadFlags, which.status());
  if (!which->command && !orders_flags.brokers.empty()) {
    return Fail(kExitBadFlags, absl::InvalidArgumentError("--orders-brokers needs the command role: order events "
                                                          "become commands"));
  }
  absl::StatusOr<eventlog::LogConfig> log_config = LogConfigFor(f, *which, (*security)->kafka_settings());
  if (!log_config.ok()) return Fail(kExitBadFlags, log_config.status());
  std::error_code ec;
  std::filesystem::create_directories(f.log.data_dir, ec);
  if (ec) return Fail(kExitError, absl::UnavailableError("cannot create data dir " + f.log.data_dir + ": " + ec.message()));
  // ---- warm standby (tools/standby_flags.h): follow until the writer is gone ----
  absl::StatusOr<tools::StandbyEnd> standby =
      tools::FollowUntilTakeover(standby_flags, which->command, *log_config, CommandOptions(f), stop_signals);
  if (!standby.ok()) return Fail(kExitError, WithContext("standby", standby.status()));
  if (*standby == tools::StandbyEnd::kStopped) return 0;
  // ---- end standby ----
  absl::StatusOr<std::unique_ptr<eventlog::EventLog>> log = eventlog::OpenLog(*log_config);
  if (!log.ok()) return Fail(kExitError, WithContext("cannot open the event log", log.status()));
  base::SystemClock clock;
  Roles roles;
  absl::Status started = StartRoles(*which, f, orders_flags, log->get(), &clock, **security, obs.recorded(), roles);
  if (!started.ok()) return Fail(kExitError, started);
  metrics::AddAllCollectors(&obs.registry, {.roles = f.roles,
                                            .log = log->get(),
                                            .projector = roles.projector.get(),
                                            .query = roles.query ? roles.query->service() : nullptr,
                                            .consumer = roles.orders ? roles.orders->consumer() : nullptr,
                                            .publisher = roles.orders ? roles.orders->publisher() : nullptr,
                                            .in_flight = (*security)->in_flight()->options().calls_max > 0
                                                             ? (*security)->in_flight()
                                                             : nullptr,
                                            .stock = {.stock_level_series_max = obs_flags.stock_level_series_max}});
  absl::StatusOr<GrpcFrontDoor> grpc =
      StartGrpc(f.listen, **security, roles, obs.recorded(), obs_flags.access_log);
  if (!grpc.ok()) return Fail(kExitError, grpc.status());
  std::printf("listening on %s\n", grpc->address.c_str());
  std::fflush(stdout);
  spdlog::info("serving roles [{}] on {} ({} log)", f.roles, grpc->address, f.log_backend);
  // Further front doors start here, beside gRPC.
  if (roles.command) roles.command->ReportHealthTo(grpc->server->GetHealthCheckService());
  absl::StatusOr<std::unique_ptr<http_api::HttpServer>> http = StartHttp(
      http_flags, grpc->server.get(), roles.command.get(), roles.projector.get(), obs.exposed(), security->get());
  if (!http.ok()) {
    if (roles.query) roles.query->Drain();
    grpc->server->Shutdown(std::chrono::system_clock::now());
    roles.Stop();
    return Fail(kExitError, http.status());
  }

  const StopCause stop = WaitForStop(stop_signals, roles.command.get(), f.fenced_drain_ms);
  auto drain_started = std::chrono::steady_clock::now();
  grpc->server->GetHealthCheckService()->SetServingStatus(false);
  if (roles.query) roles.query->Drain();  // streams end UNAVAILABLE (resumable), so Shutdown need not wait for them
  // Further front doors stop here, before gRPC (their calls ride it).
  if (*http) {
    (*security)->ClearReloads();
    (*http)->Stop();
  }
  // GOAWAY, then at most the grace for the calls in flight; whatever is left
  // (a client that never acknowledges the GOAWAY holds Shutdown, idle or
  // not) is cancelled then. docs/reliability.md "Shutdown".
  grpc->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(f.shutdown_grace_ms));
  roles.Stop();
  absl::Status closed = (*log)->Close();
  if (!closed.ok()) spdlog::warn("closing the log: {}", closed.ToString());
  spdlog::info("stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - drain_started).count());
  return stop == StopCause::kFenced ? kExitFenced : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil keeps its debug-build default of checking every
  // absl::Mutex acquisition for lock-order cycles, and gRPC's locks are
  // absl::Mutex: about 2% of the server's CPU in the command-path profile
  // (bench/README.md). The unit tests keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"inventoryd: event-sourced inventory ledger service"};
  app.require_subcommand(1);
  ServeFlags flags;
  CLI::App* serve = app.add_subcommand("serve", "Run the service (all roles by default, embedded log in ./data)");
  AddServeFlags(serve, flags);
  OrdersFlags orders_flags;
  AddOrdersFlags(serve, orders_flags);
  HttpFlags http_flags;
  AddHttpFlags(serve, http_flags);
  tools::SecurityFlags security_flags;
  tools::AddSecurityFlags(serve, security_flags);
  ObsFlags obs_flags;
  AddObsFlags(serve, obs_flags);
  tools::StandbyFlags standby_flags;
  tools::AddStandbyFlags(serve, standby_flags);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("inventoryd"));  // stdout carries only the address line
  if (serve->parsed()) return Serve(flags, orders_flags, http_flags, security_flags, obs_flags, standby_flags);
  return 0;
}
