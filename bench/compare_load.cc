// compare_load: one closed-loop workload, from one load generator, against
// the designs the ledger replaces and the ledger itself:
//
//   postgres     a row per (SKU, warehouse); reserve = BEGIN, conditional
//                UPDATE ... SET reserved = reserved + q WHERE on_hand - reserved >= q,
//                INSERT of a reservation row, COMMIT (commit likewise), one
//                libpq connection per client (../shared/seeds/000..003)
//   redis        a hash per (SKU, warehouse); a Lua script checks and reserves
//                atomically and writes a reservation hash with a TTL, one
//                hiredis connection per client (../shared/seeds/004)
//   ledger       inventoryd over gRPC, unary CheckAndReserveStock
//   ledger-bulk  inventoryd over gRPC, BulkReserveStock of --bulk-size
//
// PostgreSQL and Redis must already run (bench/compare.sh starts them with
// durable settings); inventoryd is started here, fresh for every run, on a
// data dir seeded directly through the ledger core (bench/ledger_data.h).
//
//   build/bench/compare_load --pg "host=127.0.0.1 port=5433 user=postgres dbname=postgres"
//       --redis 127.0.0.1:6380 --out-dir /tmp/results        (one command line)
//
// Scenarios (every reservation is 1 unit at warehouse WH-1):
//   hot             reserve, 10 SKUs, deep stock
//   uniform         reserve, --skus SKUs (100k), deep stock
//   reserve-commit  reserve then commit, 10 SKUs: one op = both calls
//   read-heavy      90% availability reads, 10% reserves, --skus SKUs; the
//                   ledger reads through QueryService.CheckAvailability and
//                   reports n/a while that answers UNIMPLEMENTED
//   sellout         10 SKUs of --sellout-stock units each; clients reserve
//                   until refused 50 times in a row: an oversell test
// After every run the levels are read back (PostgreSQL: SELECT; Redis: HMGET;
// ledger: the server is stopped and its log folded) and checked: no row with
// reserved > on_hand, and the units reserved/shipped equal what clients were
// acknowledged. Results: a table on stdout, and in --out-dir runs.csv (every
// run), results.csv (medians), scale.csv, throughput.dat and scale.dat (for
// the chart).
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <libpq-fe.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/inventoryd_process.h"
#include "bench/ledger_data.h"
#include "bench/load_stats.h"
#include "proto/command_service.grpc.pb.h"
#include "proto/query_service.grpc.pb.h"

namespace {

namespace pb = inventory::v1;
using Clock = std::chrono::steady_clock;

constexpr char kWarehouse[] = "WH-1";
constexpr std::int64_t kDeepStock = 1'000'000'000;
constexpr int kSelloutStreak = 50;      // refusals in a row that end a sellout client
constexpr int kReservationTtlMs = 900'000;  // 15 minutes, as in the seeds (PostgreSQL: in the SQL)

struct Flags {
  std::string systems = "postgres,redis,ledger,ledger-bulk";
  std::string scenarios = "hot,uniform,reserve-commit,read-heavy,sellout";
  int clients = 32;
  std::string scale_clients = "1,4,16,64";
  int repetitions = 3;
  double seconds = 5;
  double scale_seconds = 3;
  double sellout_seconds = 30;  // at most; a sellout run ends when every client is refused
  int skus = 100'000;
  int bulk_size = 100;
  std::int64_t sellout_stock = 500;
  int channels = 4;
  std::string pg;
  std::string redis;
  int pg_pid = 0;
  int redis_pid = 0;
  std::string inventoryd = INVENTORYD_PATH;
  std::string out_dir;
};

struct Workload {
  std::string scenario;
  int skus = 10;
  std::int64_t stock = kDeepStock;  // per SKU
  int read_percent = 0;
  bool commit = false;
  bool sellout = false;
};

Workload MakeWorkload(const std::string& scenario, const Flags& f) {
  Workload w;
  w.scenario = scenario;
  if (scenario == "uniform" || scenario == "read-heavy") w.skus = f.skus;
  if (scenario == "read-heavy") w.read_percent = 90;
  if (scenario == "reserve-commit") w.commit = true;
  if (scenario == "sellout") {
    w.sellout = true;
    w.stock = f.sellout_stock;
  }
  return w;
}

std::string SkuName(int i) { return absl::StrCat("SKU-", i); }

// What one reserve call did.
struct CallResult {
  int reserved = 0;
  int rejected = 0;  // refused for lack of stock
  bool error = false;
};

// One client's connection to a system; used by one thread.
class Client {
 public:
  virtual ~Client() = default;
  // Reserves 1 unit of each of `skus` (unary systems get exactly one), under
  // reservation id `id` (bulk: id + "-" + index).
  virtual CallResult Reserve(const std::vector<int>& skus, const std::string& id) = 0;
  // Commits reservation `id` of 1 unit of `sku`; false on any failure.
  virtual bool Commit(int sku, const std::string& id) = 0;
  // Reads the available quantity of `sku`; false on error.
  virtual bool Available(int sku) = 0;
  // Failed calls by "method CODE: message" (systems that can tell), printed
  // per run so an error count comes with its cause.
  std::map<std::string, std::int64_t> error_kinds;
};

class System {
 public:
  virtual ~System() = default;
  virtual std::string name() const = 0;
  // Reservations per reserve call.
  virtual int batch() const { return 1; }
  // The server's process (its children count too), or 0 when unknown.
  virtual int server_pid() const { return 0; }
  // Fresh state for `w`. UNIMPLEMENTED: the system cannot run it (n/a).
  virtual absl::Status Prepare(const Workload& w) = 0;
  virtual absl::StatusOr<std::unique_ptr<Client>> Connect() = 0;
  // The levels after the run (REQUIRES: every client destroyed).
  virtual absl::StatusOr<std::vector<bench::Level>> Levels() = 0;
  virtual void Finish() {}
};

// ---------------------------------------------------------------- PostgreSQL

class PgClient : public Client {
 public:
  explicit PgClient(PGconn* conn) : conn_(conn) {}
  ~PgClient() override { PQfinish(conn_); }

  static absl::StatusOr<std::unique_ptr<Client>> Open(const std::string& conninfo) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string error = PQerrorMessage(conn);
      PQfinish(conn);
      return absl::UnavailableError("postgres: " + error);
    }
    auto client = std::make_unique<PgClient>(conn);
    const char* statements[][2] = {
        {"reserve_level",
         "UPDATE inventory_levels SET reserved = reserved + $3, updated_at = now() "
         "WHERE sku = $1 AND warehouse = $2 AND on_hand - reserved >= $3"},
        {"reserve_row",
         "INSERT INTO reservations (id, sku, warehouse, quantity, status, expires_at) "
         "VALUES ($1, $2, $3, $4, 'RESERVED', now() + interval '15 minutes')"},
        {"commit_row",
         "UPDATE reservations SET status = 'COMMITTED', updated_at = now() "
         "WHERE id = $1 AND status = 'RESERVED' RETURNING sku, warehouse, quantity"},
        {"commit_level",
         "UPDATE inventory_levels SET on_hand = on_hand - $3, reserved = reserved - $3, updated_at = now() "
         "WHERE sku = $1 AND warehouse = $2"},
        {"available", "SELECT on_hand - reserved FROM inventory_levels WHERE sku = $1 AND warehouse = $2"},
    };
    for (const auto& [name, sql] : statements) {
      PGresult* r = PQprepare(conn, name, sql, 0, nullptr);
      bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      std::string error = PQresultErrorMessage(r);
      PQclear(r);
      if (!ok) return absl::InternalError(absl::StrCat("postgres prepare ", name, ": ", error));
    }
    return client;
  }

  CallResult Reserve(const std::vector<int>& skus, const std::string& id) override {
    CallResult out;
    std::string sku = SkuName(skus[0]);
    if (!Simple("BEGIN")) return Failed();
    PGresult* r = Prepared("reserve_level", {sku.c_str(), kWarehouse, "1"});
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    bool updated = ok && std::string(PQcmdTuples(r)) == "1";
    PQclear(r);
    if (!ok) return Failed();
    if (!updated) {
      out.rejected = 1;
      return Simple("ROLLBACK") ? out : Failed();
    }
    r = Prepared("reserve_row", {id.c_str(), sku.c_str(), kWarehouse, "1"});
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || !Simple("COMMIT")) return Failed();
    out.reserved = 1;
    return out;
  }

  bool Commit(int, const std::string& id) override {
    if (!Simple("BEGIN")) {
      Failed();
      return false;
    }
    PGresult* r = Prepared("commit_row", {id.c_str()});
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    std::string sku, warehouse, quantity;
    if (ok) {
      sku = PQgetvalue(r, 0, 0);
      warehouse = PQgetvalue(r, 0, 1);
      quantity = PQgetvalue(r, 0, 2);
    }
    PQclear(r);
    if (ok) {
      r = Prepared("commit_level", {sku.c_str(), warehouse.c_str(), quantity.c_str()});
      ok = PQresultStatus(r) == PGRES_COMMAND_OK && std::string(PQcmdTuples(r)) == "1";
      PQclear(r);
    }
    if (!ok) {
      Simple("ROLLBACK");
      return false;
    }
    return Simple("COMMIT");
  }

  bool Available(int sku) override {
    std::string name = SkuName(sku);
    PGresult* r = Prepared("available", {name.c_str(), kWarehouse});
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return ok;
  }

 private:
  bool Simple(const char* sql) {
    PGresult* r = PQexec(conn_, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
  }
  PGresult* Prepared(const char* name, std::vector<const char*> params) {
    return PQexecPrepared(conn_, name, static_cast<int>(params.size()), params.data(), nullptr, nullptr, 0);
  }
  CallResult Failed() {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) Simple("ROLLBACK");
    return {.error = true};
  }

  PGconn* conn_;
};

class PgSystem : public System {
 public:
  PgSystem(std::string conninfo, int pid) : conninfo_(std::move(conninfo)), pid_(pid) {}
  std::string name() const override { return "postgres"; }
  int server_pid() const override { return pid_; }

  absl::Status Prepare(const Workload& w) override {
    std::string sql = absl::StrCat(
        "DROP TABLE IF EXISTS reservations; DROP TABLE IF EXISTS inventory_levels;"
        "CREATE TABLE inventory_levels (sku text NOT NULL, warehouse text NOT NULL, on_hand bigint NOT NULL,"
        " reserved bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (sku, warehouse));"
        "CREATE TABLE reservations (id text PRIMARY KEY, sku text NOT NULL, warehouse text NOT NULL,"
        " quantity bigint NOT NULL, status text NOT NULL, expires_at timestamptz NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());"
        "CREATE INDEX reservations_expires_at ON reservations (expires_at);"
        "INSERT INTO inventory_levels (sku, warehouse, on_hand) SELECT 'SKU-' || i, '",
        kWarehouse, "', ", w.stock, " FROM generate_series(0, ", w.skus - 1, ") AS i;",
        "ANALYZE; CHECKPOINT;");
    return Admin(sql, nullptr);
  }

  absl::StatusOr<std::unique_ptr<Client>> Connect() override { return PgClient::Open(conninfo_); }

  absl::StatusOr<std::vector<bench::Level>> Levels() override {
    std::vector<bench::Level> levels;
    absl::Status read = Admin("SELECT sku || '/' || warehouse, on_hand, reserved FROM inventory_levels", &levels);
    if (!read.ok()) return read;
    return levels;
  }

 private:
  // Runs `sql` on a fresh connection; with `levels`, reads its rows into it.
  absl::Status Admin(const std::string& sql, std::vector<bench::Level>* levels) {
    PGconn* conn = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string error = PQerrorMessage(conn);
      PQfinish(conn);
      return absl::UnavailableError("postgres: " + error);
    }
    PGresult* r = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(r);
    absl::Status out = absl::OkStatus();
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      out = absl::InternalError(absl::StrCat("postgres: ", PQresultErrorMessage(r)));
    } else if (levels != nullptr) {
      for (int row = 0; row < PQntuples(r); ++row) {
        levels->push_back({PQgetvalue(r, row, 0), std::stoll(PQgetvalue(r, row, 1)), std::stoll(PQgetvalue(r, row, 2))});
      }
    }
    PQclear(r);
    PQfinish(conn);
    return out;
  }
  std::string conninfo_;
  int pid_;
};

// --------------------------------------------------------------------- Redis

// KEYS[1] stock hash, KEYS[2] reservation hash; ARGV: quantity, ttl_ms, sku,
// warehouse. 1 reserved, 0 refused, -1 unknown (SKU, warehouse).
constexpr char kRedisReserve[] = R"lua(
local q = tonumber(ARGV[1])
local level = redis.call('HMGET', KEYS[1], 'on_hand', 'reserved')
if not level[1] then return -1 end
if tonumber(level[1]) - tonumber(level[2]) < q then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', q)
redis.call('HSET', KEYS[2], 'sku', ARGV[3], 'warehouse', ARGV[4], 'quantity', q, 'status', 'RESERVED')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
)lua";

// KEYS[1] reservation hash, KEYS[2] stock hash. 1 committed, 0 not active.
constexpr char kRedisCommit[] = R"lua(
local r = redis.call('HMGET', KEYS[1], 'quantity', 'status')
if r[2] ~= 'RESERVED' then return 0 end
local q = tonumber(r[1])
redis.call('HINCRBY', KEYS[2], 'on_hand', -q)
redis.call('HINCRBY', KEYS[2], 'reserved', -q)
redis.call('HSET', KEYS[1], 'status', 'COMMITTED')
return 1
)lua";

std::string StockKey(int sku) { return absl::StrCat("stock:", SkuName(sku), ":", kWarehouse); }

struct RedisReply {
  redisReply* reply = nullptr;
  explicit RedisReply(void* r) : reply(static_cast<redisReply*>(r)) {}
  ~RedisReply() {
    if (reply != nullptr) freeReplyObject(reply);
  }
  RedisReply(const RedisReply&) = delete;
  RedisReply& operator=(const RedisReply&) = delete;
  bool integer(long long* out) const {
    if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) return false;
    *out = reply->integer;
    return true;
  }
};

absl::StatusOr<redisContext*> RedisConnect(const std::string& address) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("--redis wants host:port");
  redisContext* c = redisConnect(address.substr(0, colon).c_str(), std::stoi(address.substr(colon + 1)));
  if (c == nullptr || c->err != 0) {
    std::string error = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    return absl::UnavailableError("redis: " + error);
  }
  return c;
}

class RedisClient : public Client {
 public:
  RedisClient(redisContext* c, std::string reserve_sha, std::string commit_sha)
      : c_(c), reserve_sha_(std::move(reserve_sha)), commit_sha_(std::move(commit_sha)) {}
  ~RedisClient() override { redisFree(c_); }

  CallResult Reserve(const std::vector<int>& skus, const std::string& id) override {
    std::string stock = StockKey(skus[0]);
    std::string reservation = "reservation:" + id;
    std::string sku = SkuName(skus[0]);
    std::string ttl = std::to_string(kReservationTtlMs);
    RedisReply r(redisCommand(c_, "EVALSHA %s 2 %s %s 1 %s %s %s", reserve_sha_.c_str(), stock.c_str(),
                              reservation.c_str(), ttl.c_str(), sku.c_str(), kWarehouse));
    long long v = 0;
    if (!r.integer(&v) || v < 0) return {.error = true};
    return {.reserved = v == 1 ? 1 : 0, .rejected = v == 1 ? 0 : 1};
  }

  bool Commit(int sku, const std::string& id) override {
    std::string stock = StockKey(sku);
    std::string reservation = "reservation:" + id;
    RedisReply r(redisCommand(c_, "EVALSHA %s 2 %s %s", commit_sha_.c_str(), reservation.c_str(), stock.c_str()));
    long long v = 0;
    return r.integer(&v) && v == 1;
  }

  bool Available(int sku) override {
    std::string stock = StockKey(sku);
    RedisReply r(redisCommand(c_, "HMGET %s on_hand reserved", stock.c_str()));
    return r.reply != nullptr && r.reply->type == REDIS_REPLY_ARRAY && r.reply->elements == 2;
  }

 private:
  redisContext* c_;
  std::string reserve_sha_;
  std::string commit_sha_;
};

class RedisSystem : public System {
 public:
  RedisSystem(std::string address, int pid) : address_(std::move(address)), pid_(pid) {}
  std::string name() const override { return "redis"; }
  int server_pid() const override { return pid_; }

  absl::Status Prepare(const Workload& w) override {
    absl::StatusOr<redisContext*> c = RedisConnect(address_);
    if (!c.ok()) return c.status();
    absl::Status s = Seed(*c, w);
    redisFree(*c);
    skus_ = w.skus;
    return s;
  }

  absl::StatusOr<std::unique_ptr<Client>> Connect() override {
    absl::StatusOr<redisContext*> c = RedisConnect(address_);
    if (!c.ok()) return c.status();
    return std::make_unique<RedisClient>(*c, reserve_sha_, commit_sha_);
  }

  absl::StatusOr<std::vector<bench::Level>> Levels() override {
    absl::StatusOr<redisContext*> c = RedisConnect(address_);
    if (!c.ok()) return c.status();
    std::vector<bench::Level> levels;
    absl::Status s = absl::OkStatus();
    for (int first = 0; first < skus_ && s.ok(); first += 1000) {
      int last = std::min(skus_, first + 1000);
      for (int i = first; i < last; ++i) redisAppendCommand(*c, "HMGET %s on_hand reserved", StockKey(i).c_str());
      for (int i = first; i < last; ++i) {
        void* raw = nullptr;
        if (redisGetReply(*c, &raw) != REDIS_OK) {
          s = absl::UnavailableError("redis: reading levels");
          break;
        }
        RedisReply r(raw);
        if (r.reply->type != REDIS_REPLY_ARRAY || r.reply->elements != 2 || r.reply->element[0]->str == nullptr) {
          s = absl::DataLossError(absl::StrCat("redis: no level for ", SkuName(i)));
          break;
        }
        levels.push_back({absl::StrCat(SkuName(i), "/", kWarehouse), std::stoll(r.reply->element[0]->str),
                          std::stoll(r.reply->element[1]->str)});
      }
    }
    redisFree(*c);
    if (!s.ok()) return s;
    return levels;
  }

 private:
  absl::Status Seed(redisContext* c, const Workload& w) {
    { RedisReply r(redisCommand(c, "FLUSHALL")); if (r.reply == nullptr) return absl::UnavailableError("redis: FLUSHALL"); }
    for (auto [script, sha] : {std::pair{kRedisReserve, &reserve_sha_}, std::pair{kRedisCommit, &commit_sha_}}) {
      RedisReply r(redisCommand(c, "SCRIPT LOAD %s", script));
      if (r.reply == nullptr || r.reply->type != REDIS_REPLY_STRING) {
        return absl::InternalError(absl::StrCat("redis: SCRIPT LOAD: ", r.reply != nullptr && r.reply->str ? r.reply->str : "no reply"));
      }
      *sha = r.reply->str;
    }
    std::string stock = std::to_string(w.stock);
    for (int first = 0; first < w.skus; first += 1000) {
      int last = std::min(w.skus, first + 1000);
      for (int i = first; i < last; ++i) {
        redisAppendCommand(c, "HSET %s on_hand %s reserved 0", StockKey(i).c_str(), stock.c_str());
      }
      for (int i = first; i < last; ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) return absl::UnavailableError("redis: seeding");
        RedisReply r(raw);
      }
    }
    // Start every run from a compact AOF, as PostgreSQL starts from a
    // checkpoint: a rewrite left over from the previous run would fork and
    // write during this one.
    { RedisReply r(redisCommand(c, "BGREWRITEAOF")); }
    for (int i = 0; i < 600; ++i) {
      RedisReply r(redisCommand(c, "INFO persistence"));
      if (r.reply == nullptr || r.reply->type != REDIS_REPLY_STRING) return absl::UnavailableError("redis: INFO");
      std::string info = r.reply->str;
      if (info.find("aof_rewrite_in_progress:0") != std::string::npos &&
          info.find("aof_rewrite_scheduled:0") != std::string::npos) {
        return absl::OkStatus();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return absl::DeadlineExceededError("redis: AOF rewrite did not finish in 60 s");
  }

  std::string address_;
  int pid_;
  std::string reserve_sha_;
  std::string commit_sha_;
  int skus_ = 0;
};

// -------------------------------------------------------------------- ledger

pb::CommandContext Context(const std::string& id) {
  pb::CommandContext c;
  c.set_command_id(id);
  c.set_actor("bench");
  return c;
}

void FillReserve(pb::CheckAndReserveStockRequest* req, int sku, const std::string& id) {
  *req->mutable_context() = Context(id);
  req->set_reservation_id(id);
  req->set_order_id("o-" + id);
  pb::OrderLine* line = req->add_lines();
  line->set_sku(SkuName(sku));
  line->set_quantity(1);
  line->set_warehouse(kWarehouse);
}

std::chrono::system_clock::time_point Deadline() { return std::chrono::system_clock::now() + std::chrono::seconds(10); }

// How the ledger is run: as it is, or with JWT authentication (every call
// verifies an HS256 bearer token) and/or TLS, to measure what they cost.
struct LedgerSecurity {
  bool jwt = false;
  bool tls = false;
  std::string Suffix() const { return absl::StrCat(jwt ? "-jwt" : "", tls ? "-tls" : ""); }
};

// Each call's context: deadline and, with JWT on, the bearer token.
void PrepareContext(grpc::ClientContext* ctx, const std::string& bearer) {
  ctx->set_deadline(Deadline());
  if (!bearer.empty()) ctx->AddMetadata("authorization", bearer);
}

class LedgerClient : public Client {
 public:
  LedgerClient(pb::CommandService::Stub* commands, pb::QueryService::Stub* queries, bool bulk, std::string bearer)
      : commands_(commands), queries_(queries), bulk_(bulk), bearer_(std::move(bearer)) {}

  CallResult Reserve(const std::vector<int>& skus, const std::string& id) override {
    grpc::ClientContext ctx;
    PrepareContext(&ctx, bearer_);
    CallResult out;
    if (!bulk_) {
      pb::CheckAndReserveStockRequest req;
      FillReserve(&req, skus[0], id);
      pb::CheckAndReserveStockResponse resp;
      grpc::Status s = commands_->CheckAndReserveStock(&ctx, req, &resp);
      if (s.ok()) out.reserved = 1;
      else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) out.rejected = 1;
      else out.error = Failed("CheckAndReserveStock", s);
      return out;
    }
    pb::BulkReserveStockRequest req;
    for (std::size_t i = 0; i < skus.size(); ++i) FillReserve(req.add_reservations(), skus[i], absl::StrCat(id, "-", i));
    pb::BulkReserveStockResponse resp;
    if (!commands_->BulkReserveStock(&ctx, req, &resp).ok()) return {.error = true};
    for (const pb::BulkReserveResult& r : resp.results()) {
      if (r.code() == 0) out.reserved += 1;
      else if (r.code() == static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)) out.rejected += 1;
      else out.error = true;
    }
    return out;
  }

  bool Commit(int, const std::string& id) override {
    grpc::ClientContext ctx;
    PrepareContext(&ctx, bearer_);
    pb::CommitReservationRequest req;
    *req.mutable_context() = Context(id + "-commit");
    req.set_reservation_id(id);
    pb::CommitReservationResponse resp;
    return commands_->CommitReservation(&ctx, req, &resp).ok();
  }

  bool Available(int sku) override {
    grpc::Status s = Check(queries_, sku, bearer_);
    return s.ok() || !Failed("CheckAvailability", s);
  }

  // Counts `s` in error_kinds; returns true.
  bool Failed(const char* method, const grpc::Status& s) {
    static const char* const kCodes[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                         "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                         "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                         "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    auto code = static_cast<std::size_t>(s.error_code());
    std::string message = s.error_message().substr(0, 60);
    for (char& c : message) c = (c >= '0' && c <= '9') ? '#' : c;  // one kind per cause, not per SKU
    error_kinds[absl::StrCat(method, " ", code < std::size(kCodes) ? kCodes[code] : "?", ": ", message)] += 1;
    return true;
  }

  // `min_token` (optional): answered only once the read models reflect it.
  static grpc::Status Check(pb::QueryService::Stub* queries, int sku, const std::string& bearer,
                            const pb::ConsistencyToken* min_token = nullptr) {
    grpc::ClientContext ctx;
    PrepareContext(&ctx, bearer);
    pb::CheckAvailabilityRequest req;
    if (min_token != nullptr) *req.mutable_read()->mutable_min_token() = *min_token;
    pb::OrderLine* line = req.add_lines();
    line->set_sku(SkuName(sku));
    line->set_quantity(1);
    line->set_warehouse(kWarehouse);
    pb::CheckAvailabilityResponse resp;
    return queries->CheckAvailability(&ctx, req, &resp);
  }

 private:
  pb::CommandService::Stub* commands_;
  pb::QueryService::Stub* queries_;
  bool bulk_;
  const std::string bearer_;
};

constexpr char kBenchSecret[] = "compare-load-hs256-secret-of-32-bytes-or-more";

std::string Base64Url(std::string_view data) { return absl::WebSafeBase64Escape(absl::string_view(data.data(), data.size())); }

// "Bearer <HS256 JWT>" for principal "bench", valid for a day.
std::string BenchBearer() {
  std::int64_t exp = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() + 86'400;
  std::string signing = absl::StrCat(Base64Url(R"({"alg":"HS256","typ":"JWT"})"), ".",
                                     Base64Url(absl::StrCat(R"({"sub":"bench","exp":)", exp, "}")));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), kBenchSecret, static_cast<int>(sizeof(kBenchSecret) - 1),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &mac_len);
  return absl::StrCat("Bearer ", signing, ".", Base64Url(std::string_view(reinterpret_cast<char*>(mac), mac_len)));
}

absl::Status WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path.string());
  return absl::OkStatus();
}

// The inventoryd flags for `security`, with its files written into `dir`.
absl::StatusOr<std::vector<std::string>> SecurityFlags(const LedgerSecurity& security, const std::filesystem::path& dir) {
  std::vector<std::string> flags;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (security.jwt) {
    if (absl::Status s = WriteFile(dir / "hs256.secret", kBenchSecret); !s.ok()) return s;
    if (absl::Status s = WriteFile(dir / "policy", "grant bench orders,reader\n"); !s.ok()) return s;
    flags.push_back("--auth-jwt-hmac-secret=" + (dir / "hs256.secret").string());
    flags.push_back("--auth-policy=" + (dir / "policy").string());
  }
  if (security.tls) {
    std::string cmd = absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 ",
                                   "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout ",
                                   (dir / "tls.key").string(), " -out ", (dir / "tls.pem").string(),
                                   " >/dev/null 2>&1");
    if (std::system(cmd.c_str()) != 0) return absl::UnavailableError("openssl could not make a certificate: " + cmd);
    flags.push_back("--tls-cert=" + (dir / "tls.pem").string());
    flags.push_back("--tls-key=" + (dir / "tls.key").string());
  }
  return flags;
}

class LedgerSystem : public System {
 public:
  LedgerSystem(std::string binary, int channels, int bulk_size, LedgerSecurity security = {})
      : binary_(std::move(binary)), channels_(channels), bulk_size_(bulk_size), security_(security),
        bearer_(security.jwt ? BenchBearer() : "") {}
  ~LedgerSystem() override { Finish(); }
  std::string name() const override { return (bulk_size_ > 1 ? "ledger-bulk" : "ledger") + security_.Suffix(); }
  int batch() const override { return bulk_size_; }
  int server_pid() const override { return server_ != nullptr ? server_->pid() : 0; }

  absl::Status Prepare(const Workload& w) override {
    Finish();
    if (bulk_size_ > 1 && (w.commit || w.read_percent > 0)) {
      return absl::UnimplementedError("bulk runs reservations only");
    }
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("compare-ledger-", getpid(), "-", ++runs_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    absl::StatusOr<std::vector<bench::LastPosition>> seeded =
        bench::SeedStock((dir_ / "data").string(), w.skus, w.stock, kWarehouse);
    if (!seeded.ok()) return seeded.status();
    // Reads need the read side (projector and query roles); writes are
    // measured on the command role alone, as PostgreSQL and Redis keep no
    // read models either.
    std::vector<std::string> flags = {w.read_percent > 0 ? "--roles=all" : "--roles=command"};
    absl::StatusOr<std::vector<std::string>> secured = SecurityFlags(security_, dir_ / "security");
    if (!secured.ok()) return secured.status();
    flags.insert(flags.end(), secured->begin(), secured->end());
    server_ = std::make_unique<bench::InventorydProcess>(binary_, "compare-ledger", dir_, flags,
                                                         (dir_ / "inventoryd.log").string());
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (security_.tls) {
      std::ifstream in(dir_ / "security" / "tls.pem");
      std::stringstream pem;
      pem << in.rdbuf();
      credentials = grpc::SslCredentials({.pem_root_certs = pem.str()});
    }
    for (int c = 0; c < channels_; ++c) {
      grpc::ChannelArguments args;
      args.SetInt("grpc.channel_id", c);  // distinct args: distinct connections
      auto channel = grpc::CreateCustomChannel(server_->address(), credentials, args);
      commands_.push_back(pb::CommandService::NewStub(channel));
      queries_.push_back(pb::QueryService::NewStub(channel));
    }
    if (w.read_percent > 0) {
      // The projector folds the seeded history first: wait (untimed) until
      // the read models hold all of it, with the seed's last positions as
      // the probe's consistency token. (Seeing the last seeded SKU is not
      // enough: partitions are folded side by side, so when that SKU's
      // partition is done others may still lag, and the first reads of their
      // SKUs were NOT_FOUND: the read-heavy errors of issue 19.)
      pb::ConsistencyToken seeded_token;
      for (const bench::LastPosition& p : *seeded) {
        pb::LogPosition* position = seeded_token.add_positions();
        position->set_partition(p.partition);
        position->set_offset(p.offset);
      }
      auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
      while (true) {
        grpc::Status probe = LedgerClient::Check(queries_[0].get(), w.skus - 1, bearer_, &seeded_token);
        if (probe.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          return absl::UnimplementedError("QueryService.CheckAvailability answers UNIMPLEMENTED");
        }
        if (probe.ok()) break;
        if (std::chrono::steady_clock::now() > give_up) {
          return absl::UnavailableError("CheckAvailability: " + probe.error_message());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Client>> Connect() override {
    std::size_t c = next_channel_++ % commands_.size();
    return std::make_unique<LedgerClient>(commands_[c].get(), queries_[c].get(), bulk_size_ > 1, bearer_);
  }

  absl::StatusOr<std::vector<bench::Level>> Levels() override {
    commands_.clear();
    queries_.clear();
    server_->Stop();
    return bench::FoldLevels((dir_ / "data").string());
  }

  void Finish() override {
    commands_.clear();
    queries_.clear();
    server_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  std::string binary_;
  int channels_;
  int bulk_size_;
  const LedgerSecurity security_;
  const std::string bearer_;  // "Bearer <jwt>" with security_.jwt, else empty
  int runs_ = 0;
  std::size_t next_channel_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<bench::InventorydProcess> server_;
  std::vector<std::unique_ptr<pb::CommandService::Stub>> commands_;
  std::vector<std::unique_ptr<pb::QueryService::Stub>> queries_;
};

// -------------------------------------------------------------------- runner

struct ClientStats {
  std::vector<double> latencies_ms;
  std::int64_t ops = 0;  // reservation attempts (bulk: entries) and reads
  std::int64_t reserved = 0;
  std::int64_t committed = 0;
  std::int64_t rejected = 0;
  std::int64_t errors = 0;
};

struct RunResult {
  std::string system;
  std::string scenario;
  int clients = 0;
  int repetition = 0;
  std::string status = "ok";  // ok | n/a | error: ...
  double ops_per_s = 0;
  double reserved_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  // CPU the load generator itself spent per operation (user + system), on
  // the same cores as the server: what the client shape costs the machine.
  double client_cpu_us_per_op = 0;
  double server_cpu_us_per_op = -1;  // negative: not measured
  double load_average = 0;           // the machine's 1-minute load average at the end of the run
  std::int64_t reserved = 0;
  std::int64_t committed = 0;
  std::int64_t rejected = 0;
  std::int64_t errors = 0;
  std::int64_t stock_total = 0;
  bench::LevelCheck check;
};

// CPU seconds (user + system) of process `root` and its direct children, from
// /proc: the server under test (PostgreSQL: the postmaster and its backends).
// Negative when `root` is unknown.
double ServerCpuSeconds(int root) {
  if (root <= 0) return -1;
  double ticks = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
    if (fields.size() < 13) continue;
    int pid = std::stoi(name);
    int ppid = std::stoi(fields[1]);
    if (pid == root || ppid == root) ticks += std::stod(fields[11]) + std::stod(fields[12]);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

void RunClient(Client& client, const Workload& w, int batch, int id, Clock::time_point end, ClientStats& s) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(id) * 7919 + 1);
  std::uniform_int_distribution<int> pick(0, w.skus - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  std::vector<int> skus;
  std::uint64_t seq = 0;
  int refused_in_a_row = 0;
  while (Clock::now() < end) {
    auto start = Clock::now();
    if (w.read_percent > 0 && percent(rng) < w.read_percent) {
      s.errors += client.Available(pick(rng)) ? 0 : 1;
      s.ops += 1;
    } else {
      skus.clear();
      for (int i = 0; i < batch; ++i) skus.push_back(pick(rng));
      std::string rid = absl::StrCat("r-", id, "-", seq++);
      CallResult r = client.Reserve(skus, rid);
      s.ops += batch;
      s.reserved += r.reserved;
      s.rejected += r.rejected;
      s.errors += r.error ? 1 : 0;
      if (w.commit && r.reserved == 1) {
        if (client.Commit(skus[0], rid)) {
          s.committed += 1;
        } else {
          s.errors += 1;
        }
      }
      refused_in_a_row = r.reserved == 0 && r.rejected > 0 ? refused_in_a_row + 1 : 0;
    }
    s.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (w.sellout && refused_in_a_row >= kSelloutStreak) break;
  }
}

RunResult RunOnce(System& system, const Workload& w, int clients, double seconds, int repetition) {
  RunResult out;
  out.system = system.name();
  out.scenario = w.scenario;
  out.clients = clients;
  out.repetition = repetition;
  out.stock_total = w.stock * w.skus;
  absl::Status prepared = system.Prepare(w);
  if (!prepared.ok()) {
    out.status = prepared.code() == absl::StatusCode::kUnimplemented ? "n/a" : "error: " + prepared.ToString();
    if (out.status == "n/a") std::fprintf(stderr, "  %s %s: n/a (%s)\n", out.system.c_str(), w.scenario.c_str(),
                                          std::string(prepared.message()).c_str());
    system.Finish();
    return out;
  }
  std::vector<std::unique_ptr<Client>> conns;
  for (int c = 0; c < clients; ++c) {
    absl::StatusOr<std::unique_ptr<Client>> client = system.Connect();
    if (!client.ok()) {
      out.status = "error: " + client.status().ToString();
      conns.clear();
      system.Finish();
      return out;
    }
    conns.push_back(std::move(*client));
  }
  std::vector<ClientStats> stats(static_cast<std::size_t>(clients));
  std::latch ready(clients + 1);
  Clock::time_point start;
  Clock::time_point end;
  std::vector<std::thread> threads;
  std::latch go(1);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      ready.count_down();
      go.wait();
      auto i = static_cast<std::size_t>(c);
      RunClient(*conns[i], w, system.batch(), c, end, stats[i]);
    });
  }
  ready.arrive_and_wait();
  double cpu_before = ProcessCpuSeconds();
  double server_cpu_before = ServerCpuSeconds(system.server_pid());
  start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.count_down();
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = ProcessCpuSeconds() - cpu_before;
  double server_cpu = ServerCpuSeconds(system.server_pid()) - server_cpu_before;
  std::ifstream("/proc/loadavg") >> out.load_average;

  std::map<std::string, std::int64_t> error_kinds;
  for (const auto& conn : conns) {
    for (const auto& [kind, n] : conn->error_kinds) error_kinds[kind] += n;
  }
  for (const auto& [kind, n] : error_kinds) {
    std::fprintf(stderr, "  %s %s: %lld failed calls: %s\n", out.system.c_str(), w.scenario.c_str(),
                 static_cast<long long>(n), kind.c_str());
  }
  conns.clear();

  ClientStats total;
  for (ClientStats& s : stats) {
    total.ops += s.ops;
    total.reserved += s.reserved;
    total.committed += s.committed;
    total.rejected += s.rejected;
    total.errors += s.errors;
    total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
  }
  out.ops_per_s = static_cast<double>(total.ops) / elapsed;
  out.reserved_per_s = static_cast<double>(total.reserved) / elapsed;
  out.p50_ms = bench::Percentile(total.latencies_ms, 0.50);
  out.p99_ms = bench::Percentile(total.latencies_ms, 0.99);
  out.client_cpu_us_per_op = total.ops > 0 ? cpu * 1e6 / static_cast<double>(total.ops) : 0;
  if (system.server_pid() > 0 && total.ops > 0) {
    out.server_cpu_us_per_op = server_cpu * 1e6 / static_cast<double>(total.ops);
  }
  out.reserved = total.reserved;
  out.committed = total.committed;
  out.rejected = total.rejected;
  out.errors = total.errors;
  absl::StatusOr<std::vector<bench::Level>> levels = system.Levels();
  if (levels.ok()) {
    out.check = bench::CheckLevels(*levels, w.stock, {total.reserved - total.committed, total.committed});
    if (out.check.rows != w.skus) out.status = absl::StrCat("error: ", out.check.rows, " rows read back");
  } else {
    out.status = "error: levels: " + levels.status().ToString();
  }
  system.Finish();
  return out;
}

// --------------------------------------------------------------------- report

std::string CsvHeader() {
  return "system,scenario,clients,repetition,status,ops_per_s,reserved_per_s,p50_ms,p99_ms,client_cpu_us_per_op,"
         "server_cpu_us_per_op,load_average,"
         "reserved,committed,"
         "rejected,errors,stock_total,rows_checked,oversold_rows,reserved_units,shipped_units,unaccounted_units";
}

std::string CsvRow(const RunResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s,%s,%d,%d,%s,%.0f,%.0f,%.3f,%.3f,%.1f,%.1f,%.2f,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld",
                r.system.c_str(), r.scenario.c_str(), r.clients, r.repetition, r.status.c_str(), r.ops_per_s,
                r.reserved_per_s, r.p50_ms, r.p99_ms, r.client_cpu_us_per_op, r.server_cpu_us_per_op, r.load_average,
                static_cast<long long>(r.reserved),
                static_cast<long long>(r.committed), static_cast<long long>(r.rejected),
                static_cast<long long>(r.errors), static_cast<long long>(r.stock_total),
                static_cast<long long>(r.check.rows), static_cast<long long>(r.check.oversold_rows),
                static_cast<long long>(r.check.reserved_units), static_cast<long long>(r.check.shipped_units),
                static_cast<long long>(r.check.unaccounted_units));
  return buf;
}

// The medians of one (system, scenario, clients) over its repetitions.
struct Summary {
  std::string system;
  std::string scenario;
  int clients = 0;
  std::string status = "n/a";
  int runs = 0;
  double ops_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double client_cpu_us_per_op = 0;
  double server_cpu_us_per_op = -1;
  std::int64_t oversold_rows_max = 0;
  std::int64_t unaccounted_max = 0;
  std::int64_t errors_max = 0;
  std::int64_t reserved_max = 0;  // sellout: units sold
  std::int64_t stock_total = 0;
};

Summary Summarize(const std::vector<RunResult>& runs, const std::string& system, const std::string& scenario,
                  int clients) {
  Summary s{system, scenario, clients};
  std::vector<double> ops, p50, p99, cpu, server_cpu;
  for (const RunResult& r : runs) {
    if (r.system != system || r.scenario != scenario || r.clients != clients) continue;
    s.stock_total = r.stock_total;
    if (r.status != "ok") {
      if (s.runs == 0) s.status = r.status;
      continue;
    }
    s.status = "ok";
    s.runs += 1;
    ops.push_back(r.ops_per_s);
    p50.push_back(r.p50_ms);
    p99.push_back(r.p99_ms);
    cpu.push_back(r.client_cpu_us_per_op);
    if (r.server_cpu_us_per_op >= 0) server_cpu.push_back(r.server_cpu_us_per_op);
    s.oversold_rows_max = std::max(s.oversold_rows_max, r.check.oversold_rows);
    s.unaccounted_max = std::max(s.unaccounted_max, r.check.unaccounted_units);
    s.errors_max = std::max(s.errors_max, r.errors);
    s.reserved_max = std::max(s.reserved_max, r.check.reserved_units + r.check.shipped_units);
  }
  s.ops_per_s = bench::Median(ops);
  s.p50_ms = bench::Median(p50);
  s.p99_ms = bench::Median(p99);
  s.client_cpu_us_per_op = bench::Median(cpu);
  if (!server_cpu.empty()) s.server_cpu_us_per_op = bench::Median(server_cpu);
  return s;
}

// Median over repetitions of a/b measured in the same repetition.
double RatioMedian(const std::vector<RunResult>& runs, const std::string& a, const std::string& b,
                   const std::string& scenario, int clients) {
  std::map<int, double> num, den;
  for (const RunResult& r : runs) {
    if (r.scenario != scenario || r.clients != clients || r.status != "ok") continue;
    if (r.system == a) num[r.repetition] = r.ops_per_s;
    if (r.system == b) den[r.repetition] = r.ops_per_s;
  }
  std::vector<double> ratios;
  for (auto& [rep, v] : num) {
    if (den.contains(rep) && den[rep] > 0) ratios.push_back(v / den[rep]);
  }
  return bench::Median(ratios);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) out.emplace_back(part);
  return out;
}

void PrintTable(const std::vector<RunResult>& runs, const std::vector<std::string>& systems,
                const std::vector<std::string>& scenarios, int clients, std::ostream& out) {
  out << "| scenario | system | ops/s | p50 ms | p99 ms | server CPU us/op | client CPU us/op | oversold rows "
         "| unaccounted units | errors | runs |\n"
      << "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  char buf[512];
  for (const std::string& scenario : scenarios) {
    for (const std::string& system : systems) {
      Summary s = Summarize(runs, system, scenario, clients);
      if (s.status != "ok") {
        out << "| " << scenario << " | " << system << " | " << s.status << " | | | | | | | | |\n";
        continue;
      }
      std::string ops = absl::StrCat(static_cast<long long>(s.ops_per_s));
      if (scenario == "sellout") ops = absl::StrCat("sold ", s.reserved_max, " of ", s.stock_total);
      std::string server_cpu = s.server_cpu_us_per_op >= 0 ? absl::StrFormat("%.1f", s.server_cpu_us_per_op) : "?";
      std::snprintf(buf, sizeof buf, "| %s | %s | %s | %.2f | %.2f | %s | %.1f | %lld | %lld | %lld | %d |\n",
                    scenario.c_str(), system.c_str(), ops.c_str(), s.p50_ms, s.p99_ms, server_cpu.c_str(),
                    s.client_cpu_us_per_op,
                    static_cast<long long>(s.oversold_rows_max),
                    static_cast<long long>(s.unaccounted_max), static_cast<long long>(s.errors_max), s.runs);
      out << buf;
    }
  }
  out << "\nRatios of throughput, each the median over repetitions of the ratio within one repetition:\n\n"
      << "| scenario | ledger / redis | ledger / postgres | ledger-bulk / redis | ledger-bulk / postgres |\n"
      << "| --- | ---: | ---: | ---: | ---: |\n";
  for (const std::string& scenario : scenarios) {
    if (scenario == "sellout") continue;
    auto cell = [&](const char* a, const char* b) {
      double v = RatioMedian(runs, a, b, scenario, clients);
      return v > 0 ? absl::StrFormat("%.2fx", v) : std::string("n/a");
    };
    out << "| " << scenario << " | " << cell("ledger", "redis") << " | " << cell("ledger", "postgres") << " | "
        << cell("ledger-bulk", "redis") << " | " << cell("ledger-bulk", "postgres") << " |\n";
  }
  // The cost of authentication and TLS: the secured ledger against the plain
  // one, run by run in the same process and the same load.
  out << "\nThe ledger with JWT authentication and/or TLS against the ledger without (throughput ratio, same "
         "repetitions):\n\n| scenario | ledger-jwt / ledger | ledger-tls / ledger | ledger-jwt-tls / ledger |\n"
      << "| --- | ---: | ---: | ---: |\n";
  for (const std::string& scenario : scenarios) {
    if (scenario == "sellout") continue;
    auto cell = [&](const char* a) {
      double v = RatioMedian(runs, a, "ledger", scenario, clients);
      return v > 0 ? absl::StrFormat("%.2fx", v) : std::string("n/a");
    };
    out << "| " << scenario << " | " << cell("ledger-jwt") << " | " << cell("ledger-tls") << " | "
        << cell("ledger-jwt-tls") << " |\n";
  }
}

void WriteOutputs(const Flags& f, const std::vector<RunResult>& runs, const std::vector<std::string>& systems,
                  const std::vector<std::string>& scenarios, const std::vector<int>& scale) {
  std::filesystem::create_directories(f.out_dir);
  std::filesystem::path dir(f.out_dir);
  std::ofstream raw(dir / "runs.csv");
  raw << CsvHeader() << "\n";
  for (const RunResult& r : runs) raw << CsvRow(r) << "\n";
  std::ofstream results(dir / "results.csv");
  results << "scenario,system,clients,status,runs,ops_per_s_median,p50_ms_median,p99_ms_median,"
             "server_cpu_us_per_op_median,client_cpu_us_per_op_median,oversold_rows_max,"
             "unaccounted_units_max,errors_max,sold_units_max,stock_total\n";
  std::ofstream dat(dir / "throughput.dat");
  dat << "scenario";
  for (const std::string& system : systems) dat << " " << system;
  dat << "\n";
  for (const std::string& scenario : scenarios) {
    if (scenario != "sellout") dat << scenario;
    for (const std::string& system : systems) {
      Summary s = Summarize(runs, system, scenario, f.clients);
      results << scenario << "," << system << "," << f.clients << "," << s.status << "," << s.runs << ","
              << static_cast<long long>(s.ops_per_s) << "," << s.p50_ms << "," << s.p99_ms << ","
              << s.server_cpu_us_per_op << "," << s.client_cpu_us_per_op << "," << s.oversold_rows_max << "," << s.unaccounted_max << "," << s.errors_max << "," << s.reserved_max
              << "," << s.stock_total << "\n";
      if (scenario != "sellout") dat << " " << (s.status == "ok" ? absl::StrCat(static_cast<long long>(s.ops_per_s)) : "NaN");
    }
    if (scenario != "sellout") dat << "\n";
  }
  std::ofstream scale_csv(dir / "scale.csv");
  std::ofstream scale_dat(dir / "scale.dat");
  scale_csv << "clients,system,status,runs,ops_per_s_median,p50_ms_median,p99_ms_median,oversold_rows_max\n";
  scale_dat << "clients";
  for (const std::string& system : systems) scale_dat << " " << system;
  scale_dat << "\n";
  for (int clients : scale) {
    scale_dat << clients;
    for (const std::string& system : systems) {
      Summary s = Summarize(runs, system, "hot-scale", clients);
      scale_csv << clients << "," << system << "," << s.status << "," << s.runs << ","
                << static_cast<long long>(s.ops_per_s) << "," << s.p50_ms << "," << s.p99_ms << ","
                << s.oversold_rows_max << "\n";
      scale_dat << " " << (s.status == "ok" ? absl::StrCat(static_cast<long long>(s.ops_per_s)) : "NaN");
    }
    scale_dat << "\n";
  }
  std::ofstream table(dir / "table.md");
  PrintTable(runs, systems, scenarios, f.clients, table);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"compare_load: the same workload against PostgreSQL, Redis and the ledger"};
  app.add_option("--systems", f.systems, "comma list of postgres, redis, ledger, ledger-bulk, ledger-jwt, ledger-tls, ledger-jwt-tls (the unary ledger with JWT auth and/or TLS)")->capture_default_str();
  app.add_option("--scenarios", f.scenarios, "comma list of hot, uniform, reserve-commit, read-heavy, sellout")
      ->capture_default_str();
  app.add_option("--clients", f.clients)->check(CLI::Range(1, 512))->capture_default_str();
  app.add_option("--scale-clients", f.scale_clients, "client counts of the hot scale curve (empty: none)")
      ->capture_default_str();
  app.add_option("--repetitions", f.repetitions)->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--seconds", f.seconds, "per run")->capture_default_str();
  app.add_option("--scale-seconds", f.scale_seconds, "per scale-curve run")->capture_default_str();
  app.add_option("--sellout-seconds", f.sellout_seconds, "most a sellout run may take")->capture_default_str();
  app.add_option("--skus", f.skus, "SKUs of uniform and read-heavy")->check(CLI::Range(10, 10'000'000))
      ->capture_default_str();
  app.add_option("--bulk-size", f.bulk_size, "reservations per BulkReserveStock")->check(CLI::Range(2, 1000))
      ->capture_default_str();
  app.add_option("--sellout-stock", f.sellout_stock, "units per SKU in sellout")->capture_default_str();
  app.add_option("--channels", f.channels, "gRPC connections to inventoryd")->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--pg", f.pg, "libpq conninfo of a running PostgreSQL");
  app.add_option("--redis", f.redis, "host:port of a running Redis");
  app.add_option("--pg-pid", f.pg_pid, "the postmaster's pid, to measure server CPU (optional)");
  app.add_option("--redis-pid", f.redis_pid, "redis-server's pid, to measure server CPU (optional)");
  app.add_option("--inventoryd", f.inventoryd)->capture_default_str();
  app.add_option("--out-dir", f.out_dir, "where to write the CSVs and chart data");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> system_names = SplitList(f.systems);
  std::vector<std::string> scenarios = SplitList(f.scenarios);
  std::vector<int> scale;
  for (const std::string& c : SplitList(f.scale_clients)) scale.push_back(std::stoi(c));
  std::vector<std::unique_ptr<System>> systems;
  for (const std::string& name : system_names) {
    if (name == "postgres" && !f.pg.empty()) systems.push_back(std::make_unique<PgSystem>(f.pg, f.pg_pid));
    else if (name == "redis" && !f.redis.empty()) systems.push_back(std::make_unique<RedisSystem>(f.redis, f.redis_pid));
    else if (name == "ledger") systems.push_back(std::make_unique<LedgerSystem>(f.inventoryd, f.channels, 1));
    else if (name == "ledger-bulk") systems.push_back(std::make_unique<LedgerSystem>(f.inventoryd, f.channels, f.bulk_size));
    else if (name == "ledger-jwt") systems.push_back(std::make_unique<LedgerSystem>(f.inventoryd, f.channels, 1, LedgerSecurity{.jwt = true}));
    else if (name == "ledger-tls") systems.push_back(std::make_unique<LedgerSystem>(f.inventoryd, f.channels, 1, LedgerSecurity{.tls = true}));
    else if (name == "ledger-jwt-tls") systems.push_back(std::make_unique<LedgerSystem>(f.inventoryd, f.channels, 1, LedgerSecurity{.jwt = true, .tls = true}));
    else std::fprintf(stderr, "skipping %s (unknown, or no --pg/--redis given)\n", name.c_str());
  }
  for (const std::string& s : scenarios) {
    static const std::set<std::string> kKnown = {"hot", "uniform", "reserve-commit", "read-heavy", "sellout"};
    if (!kKnown.contains(s)) {
      std::fprintf(stderr, "unknown scenario %s\n", s.c_str());
      return 2;
    }
  }

  // Repetition-major, systems interleaved, so a noisy neighbour hits every
  // system of a repetition alike and the ratios within one stay comparable.
  std::vector<RunResult> runs;
  auto record = [&](RunResult r) {
    std::fprintf(stderr, "  %s\n", CsvRow(r).c_str());
    runs.push_back(std::move(r));
  };
  for (int rep = 1; rep <= f.repetitions; ++rep) {
    for (const std::string& scenario : scenarios) {
      for (auto& system : systems) {
        double seconds = scenario == "sellout" ? f.sellout_seconds : f.seconds;
        record(RunOnce(*system, MakeWorkload(scenario, f), f.clients, seconds, rep));
      }
    }
    for (int clients : scale) {
      for (auto& system : systems) {
        Workload w = MakeWorkload("hot", f);
        w.scenario = "hot-scale";
        record(RunOnce(*system, w, clients, f.scale_seconds, rep));
      }
    }
  }
  std::vector<std::string> names;
  for (auto& system : systems) names.push_back(system->name());
  std::ostringstream table;
  PrintTable(runs, names, scenarios, f.clients, table);
  std::printf("%s", table.str().c_str());
  if (!f.out_dir.empty()) WriteOutputs(f, runs, names, scenarios, scale);
  bool clean = true;
  for (const RunResult& r : runs) clean = clean && r.check.oversold_rows == 0;
  return clean ? 0 : 3;
}
