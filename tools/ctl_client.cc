#include "tools/ctl_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "proto/command_service.grpc.pb.h"
#include "proto/http_api.pb.h"
#include "proto/query_service.grpc.pb.h"
#include "proto/rejection_metadata.h"
#include "replay/progress.h"

namespace ctl {
namespace {

namespace pb = inventory::v1;
using google::protobuf::Message;

struct Common {
  std::string server = "127.0.0.1:50051";
  bool json = false;
  std::string command_id;
  std::string actor = "inventoryctl";
  int timeout_ms = 10000;
};

void AddCommon(CLI::App* sub, Common& c, bool write) {
  sub->add_option("--server", c.server, "inventoryd's gRPC address")->envname("INVENTORY_SERVER")->capture_default_str();
  sub->add_flag("--json", c.json, "Print the answer as protobuf JSON");
  sub->add_option("--timeout-ms", c.timeout_ms, "Deadline of each call")->check(CLI::Range(1, 3600000))->capture_default_str();
  if (write) {
    sub->add_option("--command-id", c.command_id, "Idempotency key (default: a fresh random id, printed with the result)");
    sub->add_option("--actor", c.actor, "Recorded in every event")->capture_default_str();
  }
}

std::string RandomCommandId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char buf[40];
  std::snprintf(buf, sizeof buf, "ctl-%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

std::string Json(const Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

std::string Text(const Message& m) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string out;
  (void)printer.PrintToString(m, &out);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string TokenText(const pb::ConsistencyToken& token) {
  std::vector<std::string> parts;
  for (const pb::LogPosition& p : token.positions()) parts.push_back(absl::StrCat(p.partition(), ":", p.offset()));
  return absl::StrJoin(parts, ",");
}

std::string CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                 "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                 "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : absl::StrCat("CODE_", i);
}

void SetDeadline(grpc::ClientContext& ctx, const Common& c) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(c.timeout_ms));
}

// The exit status of a failed call, with its message on stderr (and the
// error as JSON on stdout with --json).
int Refused(const grpc::Status& status, const grpc::ClientContext& ctx, const Common& c) {
  std::optional<pb::Rejection> rejection;
  const auto& trailers = ctx.GetServerTrailingMetadata();
  if (auto it = trailers.find(pb::kRejectionMetadataKey); it != trailers.end()) {
    pb::Rejection parsed;
    if (parsed.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) rejection = std::move(parsed);
  }
  const bool unreachable =
      !rejection && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  if (unreachable) {
    std::fprintf(stderr, "inventoryctl: service unreachable at %s: %s: %s\n", c.server.c_str(),
                 CodeName(status.error_code()).c_str(), status.error_message().c_str());
    return kExitUnreachable;
  }
  std::string detail;
  if (rejection) {
    detail = absl::StrCat(" (", pb::Rejection::Reason_Name(rejection->reason()));
    if (!rejection->field().empty()) absl::StrAppend(&detail, ", field ", rejection->field());
    for (const auto& line : rejection->lines()) {
      absl::StrAppend(&detail, "; line ", line.line(), " ", line.sku(), " requested ", line.requested(), " available ",
                      line.available());
    }
    if (rejection->has_current_on_hand()) absl::StrAppend(&detail, "; on hand now ", rejection->current_on_hand());
    detail += ")";
  }
  std::fprintf(stderr, "inventoryctl: refused: %s: %s%s\n", CodeName(status.error_code()).c_str(),
               status.error_message().c_str(), detail.c_str());
  if (c.json) {
    pb::HttpError error;
    error.set_code(CodeName(status.error_code()));
    error.set_message(status.error_message());
    if (rejection) {
      error.set_field(rejection->field());
      *error.mutable_details() = *rejection;
    }
    std::printf("%s\n", Json(error).c_str());
  }
  return kExitRefused;
}

// A successful write's answer: its JSON, or "ok" with the command id, token
// and the rest of the answer on one line.
template <typename Response>
int Answered(const Common& c, const std::string& command_id, Response response) {
  if (c.json) {
    std::printf("%s\n", Json(response).c_str());
    return kExitOk;
  }
  const pb::CommandResult result = response.result();
  response.clear_result();
  std::printf("ok%s  command-id %s  token %s\n", result.duplicate() ? " (duplicate: answered before)" : "",
              command_id.c_str(), TokenText(result.token()).c_str());
  const std::string rest = Text(response);
  if (!rest.empty()) std::printf("  %s\n", rest.c_str());
  return kExitOk;
}

using CommandStub = pb::CommandService::Stub;
using QueryStub = pb::QueryService::Stub;

std::shared_ptr<grpc::Channel> Channel(const Common& c) {
  return grpc::CreateChannel(c.server, grpc::InsecureChannelCredentials());
}

// Sends one command: fills its context, calls `method` and prints.
template <typename Request, typename Response, typename Method>
int Send(const Common& c, Request request, Method method) {
  const std::string id = c.command_id.empty() ? RandomCommandId() : c.command_id;
  request.mutable_context()->set_command_id(id);
  request.mutable_context()->set_actor(c.actor);
  auto stub = pb::CommandService::NewStub(Channel(c));
  grpc::ClientContext ctx;
  SetDeadline(ctx, c);
  Response response;
  grpc::Status status = ((*stub).*method)(&ctx, request, &response);
  if (!status.ok()) {
    if (c.command_id.empty()) std::fprintf(stderr, "inventoryctl: command-id %s\n", id.c_str());
    return Refused(status, ctx, c);
  }
  return Answered(c, id, std::move(response));
}

absl::StatusOr<pb::AdjustmentReason> ParseAdjustReason(const std::string& s) {
  pb::AdjustmentReason r;
  std::string upper = "ADJUSTMENT_REASON_";
  for (char ch : s) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!pb::AdjustmentReason_Parse(upper, &r) || r == pb::ADJUSTMENT_REASON_UNSPECIFIED) {
    return absl::InvalidArgumentError("--reason: '" + s + "' is not one of damage, loss, found, correction, return");
  }
  return r;
}

// ---------------------------------------------------------------- CSV import

// Splits one CSV line (RFC 4180 quotes, no embedded newlines).
std::vector<std::string> CsvFields(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        fields.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      fields.emplace_back();
    } else if (ch != '\r') {
      fields.back() += ch;
    }
  }
  return fields;
}

struct CsvRow {
  size_t number = 0;  // 1-based line number in the file (the header is line 1)
  std::vector<std::string> fields;
};

// The data rows of `path`, whose header must be exactly `columns`.
absl::StatusOr<std::vector<CsvRow>> ReadCsv(const std::string& path, const std::vector<std::string>& columns) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError(path + ": empty file, expected a header row");
  std::vector<std::string> header = CsvFields(line);
  for (std::string& h : header) h = std::string(absl::StripAsciiWhitespace(h));
  if (header != columns) {
    return absl::InvalidArgumentError(path + ": header must be '" + absl::StrJoin(columns, ",") + "', found '" +
                                      absl::StrJoin(header, ",") + "'");
  }
  std::vector<CsvRow> rows;
  size_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    rows.push_back(CsvRow{number, CsvFields(line)});
  }
  return rows;
}

struct ImportTally {
  size_t applied = 0;
  size_t duplicates = 0;
  size_t refused = 0;
};

void RowRefused(const std::string& path, size_t row, const std::string& reason, ImportTally& tally) {
  std::fprintf(stderr, "inventoryctl: %s row %zu refused: %s\n", path.c_str(), row, reason.c_str());
  ++tally.refused;
}

replay::ProgressMode Progress(const std::string& mode) {
  if (mode == "always") return replay::ProgressMode::kOn;
  if (mode == "never") return replay::ProgressMode::kOff;
  return replay::IsTerminal(stderr) ? replay::ProgressMode::kOn : replay::ProgressMode::kOff;
}

bool ParseInt(const std::string& s, int64_t& out) { return absl::SimpleAtoi(absl::StripAsciiWhitespace(s), &out); }

// Items in batches through BulkCreateItems. A batch's command id is derived
// from its rows' SKUs, so the same file sends the same ids again.
int ImportItemRows(const Common& c, const std::string& path, const std::vector<CsvRow>& rows,
                                   const std::string& progress, size_t batch_size, ImportTally& tally) {
  auto stub = pb::CommandService::NewStub(Channel(c));
  replay::ProgressBar bar(stderr, Progress(progress), "import items");
  size_t done = 0;
  for (size_t start = 0; start < rows.size(); start += batch_size) {
    pb::BulkCreateItemsRequest request;
    std::vector<size_t> sent;  // row numbers of request.items
    for (size_t i = start; i < rows.size() && i < start + batch_size; ++i) {
      const CsvRow& row = rows[i];
      int64_t point = 0;
      int64_t quantity = 0;
      if (row.fields.size() != 5) {
        RowRefused(path, row.number, absl::StrCat("expected 5 columns, found ", row.fields.size()), tally);
        continue;
      }
      if (!ParseInt(row.fields[3], point) || !ParseInt(row.fields[4], quantity)) {
        RowRefused(path, row.number, "reorder_point and reorder_quantity must be integers", tally);
        continue;
      }
      pb::Item* item = request.add_items();
      item->set_sku(std::string(absl::StripAsciiWhitespace(row.fields[0])));
      item->set_name(row.fields[1]);
      item->set_category(row.fields[2]);
      item->set_reorder_point(point);
      item->set_reorder_quantity(quantity);
      sent.push_back(row.number);
    }
    if (!sent.empty()) {
      // First SKU and count: the row keys of the batch.
      request.mutable_context()->set_command_id(
          absl::StrCat("import/items/", request.items(0).sku(), ":", request.items_size()));
      request.mutable_context()->set_actor(c.actor);
      grpc::ClientContext ctx;
      SetDeadline(ctx, c);
      pb::BulkCreateItemsResponse response;
      grpc::Status status = stub->BulkCreateItems(&ctx, request, &response);
      if (!status.ok()) {
        bar.Finish();
        return Refused(status, ctx, c);
      }
      for (int i = 0; i < response.results_size() && i < static_cast<int>(sent.size()); ++i) {
        const pb::BulkItemResult& r = response.results(i);
        if (r.code() != 0) {
          RowRefused(path, sent[i],
                     absl::StrCat(CodeName(static_cast<grpc::StatusCode>(r.code())), ": ", r.error()), tally);
        } else if (r.result().duplicate()) {
          ++tally.duplicates;
        } else {
          ++tally.applied;
        }
      }
    }
    done = std::min(rows.size(), start + batch_size);
    bar.Update(done, rows.size());
  }
  bar.Finish();
  return kExitOk;
}

// Counts row by row through AdjustInventory (counted_quantity), each with the
// command id import/counts/<sku>/<warehouse>/<counted>.
int ImportCountRows(const Common& c, const std::string& path, const std::vector<CsvRow>& rows,
                                    const std::string& progress, ImportTally& tally) {
  auto stub = pb::CommandService::NewStub(Channel(c));
  replay::ProgressBar bar(stderr, Progress(progress), "import counts");
  for (size_t i = 0; i < rows.size(); ++i) {
    const CsvRow& row = rows[i];
    bar.Update(i, rows.size());
    int64_t counted = 0;
    if (row.fields.size() != 3) {
      RowRefused(path, row.number, absl::StrCat("expected 3 columns, found ", row.fields.size()), tally);
      continue;
    }
    if (!ParseInt(row.fields[2], counted)) {
      RowRefused(path, row.number, "counted must be an integer", tally);
      continue;
    }
    pb::AdjustInventoryRequest request;
    request.set_sku(std::string(absl::StripAsciiWhitespace(row.fields[0])));
    request.set_warehouse(std::string(absl::StripAsciiWhitespace(row.fields[1])));
    request.set_counted_quantity(counted);
    request.set_reference(absl::StrCat("import ", path, " row ", row.number));
    request.mutable_context()->set_command_id(
        absl::StrCat("import/counts/", request.sku(), "/", request.warehouse(), "/", counted));
    request.mutable_context()->set_actor(c.actor);
    grpc::ClientContext ctx;
    SetDeadline(ctx, c);
    pb::AdjustInventoryResponse response;
    grpc::Status status = stub->AdjustInventory(&ctx, request, &response);
    if (!status.ok()) {
      const bool has_rejection =
          ctx.GetServerTrailingMetadata().find(pb::kRejectionMetadataKey) != ctx.GetServerTrailingMetadata().end();
      if (!has_rejection && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
        bar.Finish();
        return Refused(status, ctx, c);
      }
      RowRefused(path, row.number, absl::StrCat(CodeName(status.error_code()), ": ", status.error_message()), tally);
    } else if (response.result().duplicate()) {
      ++tally.duplicates;
    } else {
      ++tally.applied;
    }
  }
  bar.Update(rows.size(), rows.size());
  bar.Finish();
  return kExitOk;
}

// ---------------------------------------------------------------- demo seed

struct DemoWarehouse {
  const char* code;
  const char* name;
  const char* region;
  int priority;
};
constexpr DemoWarehouse kDemoWarehouses[] = {
    {"wh-sp-001", "DC Sao Paulo", "southeast", 1},
    {"wh-rj-001", "DC Rio de Janeiro", "southeast", 2},
    {"wh-pr-001", "DC Curitiba", "south", 1},
};
constexpr const char* kDemoCategories[] = {"electronics", "home", "sports", "books", "toys", "garden"};
constexpr const char* kDemoNouns[] = {"Lamp", "Kettle", "Backpack", "Headphones", "Notebook", "Ball", "Drill", "Mug"};
constexpr const char* kDemoAdjectives[] = {"Classic", "Compact", "Deluxe", "Eco", "Pro", "Travel"};

}  // namespace

struct ClientCommands::Args {
  Common common;
  // item
  CLI::App* item_create = nullptr;
  CLI::App* item_update = nullptr;
  CLI::App* item_discontinue = nullptr;
  std::string sku;
  std::string name, category;
  int64_t reorder_point = 0, reorder_quantity = 0;
  std::vector<std::string> attributes;
  // warehouse
  CLI::App* warehouse_create = nullptr;
  CLI::App* warehouse_update = nullptr;
  std::string warehouse;
  std::string region;
  int32_t priority = 0;
  std::string active;
  bool inactive = false;
  // stock
  CLI::App* stock_receive = nullptr;
  CLI::App* stock_adjust = nullptr;
  CLI::App* stock_count = nullptr;
  CLI::App* stock_transfer = nullptr;
  CLI::App* stock_transfer_receive = nullptr;
  CLI::App* stock_block = nullptr;
  CLI::App* stock_unblock = nullptr;
  int64_t quantity = 0;
  int64_t expected_on_hand = 0;  // with --expected-on-hand only
  std::string reason;
  std::string reference;
  std::string to_warehouse;
  std::string transfer_id;
  // reservations
  CLI::App* reserve = nullptr;
  CLI::App* commit = nullptr;
  CLI::App* release = nullptr;
  CLI::App* expire = nullptr;
  CLI::App* extend = nullptr;
  CLI::App* reservation_get = nullptr;
  std::string reservation_id;
  std::string order_id;
  std::vector<std::string> lines;
  std::vector<std::string> request_lines;  // commit --request-line
  int64_t ttl_ms = 0;
  bool allow_split = false;
  std::string preferred_region;
  std::string release_reason = "cancelled";
  // reads
  CLI::App* levels = nullptr;
  std::vector<std::string> skus;
  CLI::App* watch = nullptr;
  std::vector<std::string> warehouses, kinds;
  bool low_stock_only = false;
  bool from_beginning = false;
  uint64_t max_updates = 0;
  // import, seed
  CLI::App* import = nullptr;
  std::string items_csv, counts_csv;
  std::string progress = "auto";
  size_t batch = 100;
  CLI::App* seed = nullptr;
  bool demo = false;
  int seed_items = 300;

  int Dispatch();
  int ItemCreate();
  int ItemUpdate();
  int WarehouseCreate();
  int WarehouseUpdate();
  int Reserve();
  int Commit();
  int Levels();
  int ReservationGet();
  int Watch();
  int Import();
  int Seed();
};

ClientCommands::ClientCommands(CLI::App& app) : args_(std::make_unique<Args>()) {
  Args& a = *args_;
  Common& c = a.common;

  CLI::App* item = app.add_subcommand("item", "Create, update or discontinue an item (gRPC to --server)");
  item->require_subcommand(1);
  a.item_create = item->add_subcommand("create", "Create an item");
  a.item_create->add_option("sku", a.sku, "The SKU")->required();
  a.item_create->add_option("--name", a.name, "Display name")->required();
  a.item_create->add_option("--category", a.category, "Category");
  a.item_create->add_option("--reorder-point", a.reorder_point, "Low stock at or below this available quantity");
  a.item_create->add_option("--reorder-quantity", a.reorder_quantity, "Quantity to reorder");
  a.item_create->add_option("--attribute", a.attributes, "key=value (repeatable)");
  a.item_update = item->add_subcommand("update", "Change an item's fields (unset ones keep their value)");
  a.item_update->add_option("sku", a.sku, "The SKU")->required();
  a.item_update->add_option("--name", a.name, "Display name");
  a.item_update->add_option("--category", a.category, "Category");
  a.item_update->add_option("--reorder-point", a.reorder_point, "Reorder point");
  a.item_update->add_option("--reorder-quantity", a.reorder_quantity, "Reorder quantity");
  a.item_update->add_option("--attribute", a.attributes, "key=value (repeatable; replaces all attributes)");
  a.item_discontinue = item->add_subcommand("discontinue", "Discontinue an item: no more receipts or reservations");
  a.item_discontinue->add_option("sku", a.sku, "The SKU")->required();
  for (CLI::App* s : {a.item_create, a.item_update, a.item_discontinue}) AddCommon(s, c, true);

  CLI::App* warehouse = app.add_subcommand("warehouse", "Create or update a warehouse (gRPC to --server)");
  warehouse->require_subcommand(1);
  a.warehouse_create = warehouse->add_subcommand("create", "Create a warehouse");
  a.warehouse_create->add_option("code", a.warehouse, "Warehouse code")->required();
  a.warehouse_create->add_option("--name", a.name, "Name")->required();
  a.warehouse_create->add_option("--region", a.region, "Region");
  a.warehouse_create->add_option("--priority", a.priority, "Allocation priority (lower first)");
  a.warehouse_create->add_flag("--inactive", a.inactive, "Create it inactive");
  a.warehouse_update = warehouse->add_subcommand("update", "Change a warehouse (unset fields keep their value)");
  a.warehouse_update->add_option("code", a.warehouse, "Warehouse code")->required();
  a.warehouse_update->add_option("--name", a.name, "Name");
  a.warehouse_update->add_option("--region", a.region, "Region");
  a.warehouse_update->add_option("--priority", a.priority, "Allocation priority");
  a.warehouse_update->add_option("--active", a.active, "true or false")->check(CLI::IsMember({"true", "false"}));
  for (CLI::App* s : {a.warehouse_create, a.warehouse_update}) AddCommon(s, c, true);

  CLI::App* stock = app.add_subcommand("stock", "Receive, adjust, count or transfer stock (gRPC to --server)");
  stock->require_subcommand(1);
  a.stock_receive = stock->add_subcommand("receive", "Receive QUANTITY units of SKU at WAREHOUSE");
  a.stock_adjust = stock->add_subcommand("adjust", "Adjust on-hand by DELTA with a --reason");
  a.stock_count = stock->add_subcommand("count", "Record an absolute cycle count");
  for (CLI::App* s : {a.stock_receive, a.stock_adjust, a.stock_count}) {
    s->add_option("sku", a.sku, "The SKU")->required();
    s->add_option("warehouse", a.warehouse, "Warehouse code")->required();
    s->add_option(s == a.stock_adjust ? "delta" : "quantity", a.quantity,
                  s == a.stock_adjust ? "Signed change of on-hand" : "Units")
        ->required();
    s->add_option("--reference", a.reference, "Document id recorded with the event");
  }
  a.stock_adjust->add_option("--reason", a.reason, "damage, loss, found, correction or return")->required();
  for (CLI::App* s : {a.stock_adjust, a.stock_count}) {
    s->add_option("--expected-on-hand", a.expected_on_hand,
                  "Refuse (ABORTED, exit 1) unless on hand is exactly this figure now");
  }
  a.stock_transfer = stock->add_subcommand("transfer", "Ship QUANTITY of SKU from FROM to TO (incoming there)");
  a.stock_transfer->add_option("sku", a.sku, "The SKU")->required();
  a.stock_transfer->add_option("from", a.warehouse, "Source warehouse")->required();
  a.stock_transfer->add_option("to", a.to_warehouse, "Destination warehouse")->required();
  a.stock_transfer->add_option("quantity", a.quantity, "Units")->required();
  a.stock_transfer->add_option("--transfer-id", a.transfer_id, "Transfer id (default: the command id)");
  a.stock_transfer_receive =
      stock->add_subcommand("transfer-receive", "Receive a shipped transfer: its incoming becomes on hand");
  a.stock_transfer_receive->add_option("transfer_id", a.transfer_id, "The transfer id")->required();
  a.stock_block = stock->add_subcommand("block", "Refuse reservations of SKU at WAREHOUSE (every warehouse if none)");
  a.stock_block->add_option("sku", a.sku, "The SKU")->required();
  a.stock_block->add_option("warehouse", a.warehouse, "Warehouse code (default: every warehouse)");
  a.stock_block->add_option("--reason", a.reason, "Why, shown with every refusal (a recall, a price error)")->required();
  a.stock_unblock = stock->add_subcommand("unblock", "Lift the sales block of SKU at WAREHOUSE (the everywhere one if none)");
  a.stock_unblock->add_option("sku", a.sku, "The SKU")->required();
  a.stock_unblock->add_option("warehouse", a.warehouse, "Warehouse code (default: the everywhere block)");
  for (CLI::App* s : {a.stock_receive, a.stock_adjust, a.stock_count, a.stock_transfer, a.stock_transfer_receive,
                      a.stock_block, a.stock_unblock}) {
    AddCommon(s, c, true);
  }

  a.reserve = app.add_subcommand("reserve", "Check and reserve stock for an order (gRPC to --server)");
  a.reserve->add_option("--order", a.order_id, "Order id");
  a.reserve->add_option("--line", a.lines, "SKU:QUANTITY[@WAREHOUSE] (repeatable)")->required();
  a.reserve->add_option("--reservation-id", a.reservation_id, "Reservation id (default: derived from the command id)");
  a.reserve->add_option("--ttl-ms", a.ttl_ms, "Time to live (0: the service default)");
  a.reserve->add_flag("--allow-split", a.allow_split, "A line may be split across warehouses");
  a.reserve->add_option("--region", a.preferred_region, "Preferred region");
  a.commit = app.add_subcommand("commit", "Commit a reservation (the stock leaves); with lines, only those units");
  a.commit->add_option("reservation_id", a.reservation_id, "Reservation id")->required();
  a.commit->add_option("--line", a.lines,
                       "SKU:QUANTITY@WAREHOUSE to commit (repeatable); the rest of the reservation is released");
  a.commit->add_option("--request-line", a.request_lines,
                       "LINE:QUANTITY: commit QUANTITY of the reserve request's line LINE (repeatable)");
  a.release = app.add_subcommand("release", "Release a reservation (the stock is available again)");
  a.release->add_option("reservation_id", a.reservation_id, "Reservation id")->required();
  a.release->add_option("--reason", a.release_reason, "cancelled, payment-failed or order-cancelled")
      ->check(CLI::IsMember({"cancelled", "payment-failed", "order-cancelled"}))->capture_default_str();
  a.expire = app.add_subcommand("expire", "Expire a reservation now, whatever its TTL (an operator's expiry)");
  a.expire->add_option("reservation_id", a.reservation_id, "Reservation id")->required();
  a.extend = app.add_subcommand("extend", "Move a reservation's expiry to now + --ttl-ms (later than it is)");
  a.extend->add_option("reservation_id", a.reservation_id, "Reservation id")->required();
  a.extend->add_option("--ttl-ms", a.ttl_ms, "New time to live from now (0: the service default)");
  for (CLI::App* s : {a.reserve, a.commit, a.release, a.expire, a.extend}) AddCommon(s, c, true);

  a.levels = app.add_subcommand("levels", "Stock levels of SKUs per warehouse and in total (gRPC to --server)");
  a.levels->add_option("sku", a.skus, "SKUs")->required();
  CLI::App* reservation = app.add_subcommand("reservation", "Read a reservation (gRPC to --server)");
  reservation->require_subcommand(1);
  a.reservation_get = reservation->add_subcommand("get", "A reservation's status and allocations");
  a.reservation_get->add_option("id", a.reservation_id, "Reservation id")->required();
  a.watch = app.add_subcommand("watch", "Follow the live stream of changes, one line each, until Ctrl-C");
  a.watch->add_option("--sku", a.skus, "Only these SKUs (repeatable)");
  a.watch->add_option("--warehouse", a.warehouses, "Only these warehouses (repeatable)");
  a.watch->add_option("--kind", a.kinds, "Only these movement kinds (received, adjusted, reserved, ...)");
  a.watch->add_flag("--low-stock-only", a.low_stock_only, "Only changes that leave a level low on stock");
  a.watch->add_flag("--from-beginning", a.from_beginning, "Replay from the start of the log first");
  a.watch->add_option("--max-updates", a.max_updates, "Stop after N updates (0: until Ctrl-C)");
  for (CLI::App* s : {a.levels, a.reservation_get, a.watch}) AddCommon(s, c, false);

  a.import = app.add_subcommand("import", "Import items or a cycle-count sheet from CSV through the command API");
  a.import->add_option("--items", a.items_csv, "CSV with columns sku,name,category,reorder_point,reorder_quantity");
  a.import->add_option("--counts", a.counts_csv, "CSV with columns sku,warehouse,counted");
  a.import->add_option("--batch", a.batch, "Items per BulkCreateItems call")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  a.import->add_option("--progress", a.progress, "Progress bar on stderr: auto, always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();
  a.seed = app.add_subcommand("seed", "Create demo data through the command API (idempotent)");
  a.seed->add_flag("--demo", a.demo, "The seeds' three warehouses and a few hundred items with stock")->required();
  a.seed->add_option("--items", a.seed_items, "Number of demo items")->check(CLI::Range(1, 10000))
      ->capture_default_str();
  for (CLI::App* s : {a.import, a.seed}) {
    s->add_option("--server", c.server, "inventoryd's gRPC address")->envname("INVENTORY_SERVER")
        ->capture_default_str();
    s->add_option("--actor", c.actor, "Recorded in every event")->capture_default_str();
    s->add_option("--timeout-ms", c.timeout_ms, "Deadline of each call")->capture_default_str();
  }
}

ClientCommands::~ClientCommands() = default;

std::optional<int> ClientCommands::Run() {
  Args& a = *args_;
  for (CLI::App* s : {a.item_create, a.item_update, a.item_discontinue, a.warehouse_create, a.warehouse_update,
                      a.stock_receive, a.stock_adjust, a.stock_count, a.stock_transfer, a.stock_transfer_receive,
                      a.stock_block, a.stock_unblock, a.reserve, a.commit, a.release, a.expire, a.extend, a.levels, a.reservation_get, a.watch, a.import, a.seed}) {
    if (s->parsed()) return a.Dispatch();
  }
  return std::nullopt;
}

namespace {

int Usage(const std::string& what) {
  std::fprintf(stderr, "inventoryctl: %s\n", what.c_str());
  return kExitUsage;
}

bool ParseAttributes(const std::vector<std::string>& in, google::protobuf::RepeatedPtrField<pb::Attribute>* out,
                     std::string& bad) {
  for (const std::string& kv : in) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      bad = kv;
      return false;
    }
    pb::Attribute* attr = out->Add();
    attr->set_key(kv.substr(0, eq));
    attr->set_value(kv.substr(eq + 1));
  }
  return true;
}

}  // namespace

int ClientCommands::Args::Dispatch() {
  const Common& c = common;
  if (item_create->parsed()) return ItemCreate();
  if (item_update->parsed()) return ItemUpdate();
  if (item_discontinue->parsed()) {
    pb::DeleteItemRequest r;
    r.set_sku(sku);
    return Send<pb::DeleteItemRequest, pb::DeleteItemResponse>(c, r, &CommandStub::DeleteItem);
  }
  if (warehouse_create->parsed()) return WarehouseCreate();
  if (warehouse_update->parsed()) return WarehouseUpdate();
  if (stock_receive->parsed() || stock_adjust->parsed() || stock_count->parsed()) {
    pb::AdjustInventoryRequest r;
    r.set_sku(sku);
    r.set_warehouse(warehouse);
    r.set_reference(reference);
    for (CLI::App* s : {stock_adjust, stock_count}) {
      if (s->parsed() && s->count("--expected-on-hand") > 0) r.set_expected_on_hand(expected_on_hand);
    }
    if (stock_receive->parsed()) {
      r.set_receive_quantity(quantity);
    } else if (stock_count->parsed()) {
      r.set_counted_quantity(quantity);
    } else {
      absl::StatusOr<pb::AdjustmentReason> why = ParseAdjustReason(reason);
      if (!why.ok()) return Usage(std::string(why.status().message()));
      r.set_adjust_delta(quantity);
      r.set_reason(*why);
    }
    return Send<pb::AdjustInventoryRequest, pb::AdjustInventoryResponse>(c, r, &CommandStub::AdjustInventory);
  }
  if (stock_transfer->parsed() || stock_transfer_receive->parsed()) {
    pb::TransferInventoryRequest r;
    Common with_id = c;
    if (with_id.command_id.empty()) with_id.command_id = RandomCommandId();
    r.set_transfer_id(transfer_id.empty() ? with_id.command_id : transfer_id);
    if (stock_transfer->parsed()) {
      r.set_step(pb::TransferInventoryRequest::STEP_SHIP);
      r.set_sku(sku);
      r.set_from_warehouse(warehouse);
      r.set_to_warehouse(to_warehouse);
      r.set_quantity(quantity);
      if (!c.json) std::printf("transfer-id %s\n", r.transfer_id().c_str());
    } else {
      r.set_step(pb::TransferInventoryRequest::STEP_RECEIVE);
    }
    return Send<pb::TransferInventoryRequest, pb::TransferInventoryResponse>(with_id, r,
                                                                             &CommandStub::TransferInventory);
  }
  if (stock_block->parsed()) {
    pb::BlockSalesRequest r;
    r.set_sku(sku);
    r.set_warehouse(warehouse);
    r.set_reason(reason);
    return Send<pb::BlockSalesRequest, pb::BlockSalesResponse>(c, r, &CommandStub::BlockSales);
  }
  if (stock_unblock->parsed()) {
    pb::UnblockSalesRequest r;
    r.set_sku(sku);
    r.set_warehouse(warehouse);
    return Send<pb::UnblockSalesRequest, pb::UnblockSalesResponse>(c, r, &CommandStub::UnblockSales);
  }
  if (reserve->parsed()) return Reserve();
  if (commit->parsed()) return Commit();
  if (release->parsed()) {
    pb::ReleaseReservedStockRequest r;
    r.set_reservation_id(reservation_id);
    r.set_reason(release_reason == "payment-failed"    ? pb::RELEASE_REASON_PAYMENT_FAILED
                 : release_reason == "order-cancelled" ? pb::RELEASE_REASON_ORDER_CANCELLED
                                                       : pb::RELEASE_REASON_CANCELLED);
    return Send<pb::ReleaseReservedStockRequest, pb::ReleaseReservedStockResponse>(c, r,
                                                                                   &CommandStub::ReleaseReservedStock);
  }
  if (expire->parsed()) {
    pb::ExpireReservationRequest r;
    r.set_reservation_id(reservation_id);
    return Send<pb::ExpireReservationRequest, pb::ExpireReservationResponse>(c, r, &CommandStub::ExpireReservation);
  }
  if (extend->parsed()) {
    pb::ExtendReservationRequest r;
    r.set_reservation_id(reservation_id);
    r.set_ttl_ms(ttl_ms);
    return Send<pb::ExtendReservationRequest, pb::ExtendReservationResponse>(c, r, &CommandStub::ExtendReservation);
  }
  if (levels->parsed()) return Levels();
  if (reservation_get->parsed()) return ReservationGet();
  if (watch->parsed()) return Watch();
  if (import->parsed()) return Import();
  if (seed->parsed()) return Seed();
  return kExitUsage;
}

int ClientCommands::Args::ItemCreate() {
  pb::CreateItemRequest r;
  pb::Item* item = r.mutable_item();
  item->set_sku(sku);
  item->set_name(name);
  item->set_category(category);
  item->set_reorder_point(reorder_point);
  item->set_reorder_quantity(reorder_quantity);
  std::string bad;
  if (!ParseAttributes(attributes, item->mutable_attributes(), bad)) {
    return Usage("--attribute: '" + bad + "' is not key=value");
  }
  return Send<pb::CreateItemRequest, pb::CreateItemResponse>(common, r, &CommandStub::CreateItem);
}

int ClientCommands::Args::ItemUpdate() {
  pb::UpdateItemRequest r;
  r.set_sku(sku);
  // Only the flags given change a field.
  if (item_update->count("--name") > 0) r.set_name(name);
  if (item_update->count("--category") > 0) r.set_category(category);
  if (item_update->count("--reorder-point") > 0) r.set_reorder_point(reorder_point);
  if (item_update->count("--reorder-quantity") > 0) r.set_reorder_quantity(reorder_quantity);
  std::string bad;
  if (!ParseAttributes(attributes, r.mutable_attributes(), bad)) {
    return Usage("--attribute: '" + bad + "' is not key=value");
  }
  r.set_replace_attributes(!attributes.empty());
  return Send<pb::UpdateItemRequest, pb::UpdateItemResponse>(common, r, &CommandStub::UpdateItem);
}

int ClientCommands::Args::WarehouseCreate() {
  pb::CreateWarehouseRequest r;
  pb::Warehouse* w = r.mutable_warehouse();
  w->set_warehouse(warehouse);
  w->set_name(name);
  w->set_region(region);
  w->set_priority(priority);
  w->set_active(!inactive);
  return Send<pb::CreateWarehouseRequest, pb::CreateWarehouseResponse>(common, r, &CommandStub::CreateWarehouse);
}

int ClientCommands::Args::WarehouseUpdate() {
  pb::UpdateWarehouseRequest r;
  r.set_warehouse(warehouse);
  if (warehouse_update->count("--name") > 0) r.set_name(name);
  if (warehouse_update->count("--region") > 0) r.set_region(region);
  if (warehouse_update->count("--priority") > 0) r.set_priority(priority);
  if (!active.empty()) r.set_active(active == "true");
  return Send<pb::UpdateWarehouseRequest, pb::UpdateWarehouseResponse>(common, r, &CommandStub::UpdateWarehouse);
}

namespace {

// A --line value, NAME:QUANTITY[@WAREHOUSE]; NAMEs (SKUs) may contain ':' so
// it splits at the last one. False when malformed.
bool ParseLineSpec(const std::string& text, std::string* name, int64_t* quantity, std::string* warehouse) {
  std::string spec = text;
  warehouse->clear();
  if (const size_t a = spec.rfind('@'); a != std::string::npos) {
    *warehouse = spec.substr(a + 1);
    spec.resize(a);
  }
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(spec.substr(colon + 1), quantity)) return false;
  *name = spec.substr(0, colon);
  return true;
}

}  // namespace

int ClientCommands::Args::Commit() {
  pb::CommitReservationRequest r;
  r.set_reservation_id(reservation_id);
  std::string line_name, at;
  int64_t q = 0;
  for (const std::string& text : lines) {
    if (!ParseLineSpec(text, &line_name, &q, &at) || at.empty()) {
      return Usage("--line: '" + text + "' is not SKU:QUANTITY@WAREHOUSE");
    }
    pb::CommitLine* line = r.add_lines();
    line->set_sku(line_name);
    line->set_warehouse(at);
    line->set_quantity(q);
  }
  for (const std::string& text : request_lines) {
    uint32_t index = 0;
    if (!ParseLineSpec(text, &line_name, &q, &at) || !at.empty() || !absl::SimpleAtoi(line_name, &index)) {
      return Usage("--request-line: '" + text + "' is not LINE:QUANTITY");
    }
    pb::CommitLine* line = r.add_lines();
    line->set_request_line(index);
    line->set_quantity(q);
  }
  return Send<pb::CommitReservationRequest, pb::CommitReservationResponse>(common, r,
                                                                           &CommandStub::CommitReservation);
}

int ClientCommands::Args::Reserve() {
  pb::CheckAndReserveStockRequest r;
  r.set_reservation_id(reservation_id);
  r.set_order_id(order_id);
  r.set_ttl_ms(ttl_ms);
  r.set_allow_split(allow_split);
  r.set_preferred_region(preferred_region);
  std::string sku_text, at;
  int64_t q = 0;
  for (const std::string& text : lines) {
    if (!ParseLineSpec(text, &sku_text, &q, &at)) {
      return Usage("--line: '" + text + "' is not SKU:QUANTITY[@WAREHOUSE]");
    }
    pb::OrderLine* line = r.add_lines();
    line->set_sku(sku_text);
    line->set_quantity(q);
    line->set_warehouse(at);
  }
  return Send<pb::CheckAndReserveStockRequest, pb::CheckAndReserveStockResponse>(common, r,
                                                                                 &CommandStub::CheckAndReserveStock);
}

int ClientCommands::Args::Levels() {
  auto stub = pb::QueryService::NewStub(Channel(common));
  pb::GetInventoryLevelsRequest r;
  for (const std::string& s : skus) r.add_skus(s);
  grpc::ClientContext ctx;
  SetDeadline(ctx, common);
  pb::GetInventoryLevelsResponse response;
  grpc::Status status = stub->GetInventoryLevels(&ctx, r, &response);
  if (!status.ok()) return Refused(status, ctx, common);
  if (common.json) {
    std::printf("%s\n", Json(response).c_str());
    return kExitOk;
  }
  std::printf("%-24s %-12s %10s %10s %10s %10s\n", "SKU", "WAREHOUSE", "ON_HAND", "RESERVED", "AVAILABLE", "INCOMING");
  auto row = [](const std::string& of, const pb::StockLevel& l, const char* where) {
    std::printf("%-24s %-12s %10lld %10lld %10lld %10lld\n", of.c_str(), where, static_cast<long long>(l.on_hand()),
                static_cast<long long>(l.reserved()), static_cast<long long>(l.available()),
                static_cast<long long>(l.incoming()));
  };
  for (const pb::SkuLevels& s : response.levels()) {
    for (const pb::StockLevel& l : s.warehouses()) row(s.sku(), l, l.warehouse().c_str());
    row(s.sku(), s.total(), "(total)");
  }
  for (const pb::SkuLevels& s : response.levels()) {
    for (const pb::SalesBlock& b : s.sales_blocks()) {
      std::printf("sales blocked: %s at %s: %s (by %s)\n", s.sku().c_str(),
                  b.warehouse().empty() ? "every warehouse" : b.warehouse().c_str(), b.reason().c_str(),
                  b.actor().empty() ? "unknown" : b.actor().c_str());
    }
  }
  return kExitOk;
}

int ClientCommands::Args::ReservationGet() {
  auto stub = pb::QueryService::NewStub(Channel(common));
  pb::GetReservationRequest r;
  r.set_reservation_id(reservation_id);
  grpc::ClientContext ctx;
  SetDeadline(ctx, common);
  pb::GetReservationResponse response;
  grpc::Status status = stub->GetReservation(&ctx, r, &response);
  if (!status.ok()) return Refused(status, ctx, common);
  if (common.json) {
    std::printf("%s\n", Json(response).c_str());
    return kExitOk;
  }
  const pb::Reservation& res = response.reservation();
  std::printf("reservation %s  order %s  %s  expires_at_ms %lld\n", res.reservation_id().c_str(),
              res.order_id().c_str(), pb::ReservationStatus_Name(res.status()).c_str(),
              static_cast<long long>(res.expires_at_ms()));
  for (const pb::Allocation& al : res.allocations()) {
    std::printf("  line %u  %s  %s  %lld", al.request_line(), al.sku().c_str(), al.warehouse().c_str(),
                static_cast<long long>(al.quantity()));
    if (al.released_quantity() > 0) {
      std::printf("  (committed %lld, released %lld)", static_cast<long long>(al.quantity() - al.released_quantity()),
                  static_cast<long long>(al.released_quantity()));
    }
    std::printf("\n");
  }
  return kExitOk;
}

namespace {
grpc::ClientContext* g_watch_ctx = nullptr;
void CancelWatch(int) {
  if (g_watch_ctx != nullptr) g_watch_ctx->TryCancel();
}
}  // namespace

int ClientCommands::Args::Watch() {
  auto stub = pb::QueryService::NewStub(Channel(common));
  pb::StreamInventoryUpdatesRequest r;
  for (const std::string& s : skus) r.add_skus(s);
  for (const std::string& w : warehouses) r.add_warehouses(w);
  for (const std::string& k : kinds) r.add_kinds(k);
  r.set_low_stock_only(low_stock_only);
  r.set_from_beginning(from_beginning);
  grpc::ClientContext ctx;
  g_watch_ctx = &ctx;
  std::signal(SIGINT, CancelWatch);
  std::signal(SIGTERM, CancelWatch);
  std::unique_ptr<grpc::ClientReader<pb::InventoryUpdate>> reader = stub->StreamInventoryUpdates(&ctx, r);
  std::fprintf(stderr, "inventoryctl: watching %s\n", common.server.c_str());
  pb::InventoryUpdate u;
  uint64_t seen = 0;
  bool stopped_by_us = false;
  while (reader->Read(&u)) {
    if (common.json) {
      std::printf("%s\n", Json(u).c_str());
    } else {
      const pb::Movement& m = u.movement();
      std::printf("%u:%llu %-17s %s@%s on_hand%+lld reserved%+lld incoming%+lld -> on_hand %lld available %lld%s%s%s\n",
                  u.position().partition(), static_cast<unsigned long long>(u.position().offset()), m.kind().c_str(),
                  m.sku().c_str(), m.warehouse().c_str(), static_cast<long long>(m.delta_on_hand()),
                  static_cast<long long>(m.delta_reserved()), static_cast<long long>(m.delta_incoming()),
                  static_cast<long long>(m.resulting().on_hand()), static_cast<long long>(m.resulting().available()),
                  m.reference().empty() ? "" : ("  ref " + m.reference()).c_str(),
                  u.out_of_stock() ? "  OUT OF STOCK" : "", u.low_stock() && !u.out_of_stock() ? "  low stock" : "");
    }
    std::fflush(stdout);
    if (max_updates != 0 && ++seen >= max_updates) {
      stopped_by_us = true;
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  g_watch_ctx = nullptr;
  if (stopped_by_us || status.error_code() == grpc::StatusCode::CANCELLED) return kExitOk;
  if (!status.ok()) return Refused(status, ctx, common);
  return kExitOk;
}

int ClientCommands::Args::Import() {
  if (items_csv.empty() == counts_csv.empty()) return Usage("import: give exactly one of --items FILE or --counts FILE");
  const bool items = !items_csv.empty();
  const std::string& path = items ? items_csv : counts_csv;
  absl::StatusOr<std::vector<CsvRow>> rows =
      ReadCsv(path, items ? std::vector<std::string>{"sku", "name", "category", "reorder_point", "reorder_quantity"}
                          : std::vector<std::string>{"sku", "warehouse", "counted"});
  if (!rows.ok()) return Usage(std::string(rows.status().message()));
  ImportTally tally;
  const int run = items ? ImportItemRows(common, path, *rows, progress, batch, tally)
                                  : ImportCountRows(common, path, *rows, progress, tally);
  if (run != kExitOk) return run;
  std::printf("%s: %zu rows, %zu applied, %zu duplicates (imported before), %zu refused\n", path.c_str(), rows->size(),
              tally.applied, tally.duplicates, tally.refused);
  return tally.refused == 0 ? kExitOk : kExitRefused;
}

int ClientCommands::Args::Seed() {
  auto stub = pb::CommandService::NewStub(Channel(common));
  size_t applied = 0;
  size_t duplicates = 0;
  auto tally = [&](const pb::CommandResult& r) { ++(r.duplicate() ? duplicates : applied); };
  for (const DemoWarehouse& w : kDemoWarehouses) {
    pb::CreateWarehouseRequest r;
    r.mutable_context()->set_command_id(absl::StrCat("seed/demo/warehouse/", w.code));
    r.mutable_context()->set_actor(common.actor);
    r.mutable_warehouse()->set_warehouse(w.code);
    r.mutable_warehouse()->set_name(w.name);
    r.mutable_warehouse()->set_region(w.region);
    r.mutable_warehouse()->set_priority(w.priority);
    r.mutable_warehouse()->set_active(true);
    grpc::ClientContext ctx;
    SetDeadline(ctx, common);
    pb::CreateWarehouseResponse response;
    grpc::Status status = stub->CreateWarehouse(&ctx, r, &response);
    if (!status.ok()) return Refused(status, ctx, common);
    tally(response.result());
  }
  // Items: SKU-0001..; names and categories from fixed lists, so every run
  // creates the same catalogue.
  constexpr size_t kBatch = 100;
  std::vector<std::string> created;
  for (int start = 0; start < seed_items; start += static_cast<int>(kBatch)) {
    pb::BulkCreateItemsRequest r;
    for (int i = start; i < seed_items && i < start + static_cast<int>(kBatch); ++i) {
      pb::Item* item = r.add_items();
      char sku_text[32];
      std::snprintf(sku_text, sizeof sku_text, "DEMO-%04d", i + 1);
      item->set_sku(sku_text);
      item->set_name(absl::StrCat(kDemoAdjectives[i % std::size(kDemoAdjectives)], " ",
                                  kDemoNouns[(i / std::size(kDemoAdjectives)) % std::size(kDemoNouns)], " ", i + 1));
      item->set_category(kDemoCategories[i % std::size(kDemoCategories)]);
      item->set_reorder_point(10 + i % 5 * 5);
      item->set_reorder_quantity(50);
    }
    r.mutable_context()->set_command_id(absl::StrCat("seed/demo/items/", start));
    r.mutable_context()->set_actor(common.actor);
    grpc::ClientContext ctx;
    SetDeadline(ctx, common);
    pb::BulkCreateItemsResponse response;
    grpc::Status status = stub->BulkCreateItems(&ctx, r, &response);
    if (!status.ok()) return Refused(status, ctx, common);
    for (const pb::BulkItemResult& b : response.results()) {
      if (b.code() != 0) {
        std::fprintf(stderr, "inventoryctl: seed: item %s refused: %s\n", b.sku().c_str(), b.error().c_str());
        return kExitRefused;
      }
      tally(b.result());
      created.push_back(b.sku());
    }
  }
  // Stock: each item at one or two warehouses, quantities from its index.
  for (size_t i = 0; i < created.size(); ++i) {
    for (size_t k = 0; k < 1 + i % 2; ++k) {
      const DemoWarehouse& w = kDemoWarehouses[(i + k) % std::size(kDemoWarehouses)];
      pb::AdjustInventoryRequest r;
      r.set_sku(created[i]);
      r.set_warehouse(w.code);
      r.set_receive_quantity(static_cast<int64_t>(5 + (i * 37 + k * 11) % 200));
      r.set_reference("seed --demo");
      r.mutable_context()->set_command_id(absl::StrCat("seed/demo/receive/", created[i], "/", w.code));
      r.mutable_context()->set_actor(common.actor);
      grpc::ClientContext ctx;
      SetDeadline(ctx, common);
      pb::AdjustInventoryResponse response;
      grpc::Status status = stub->AdjustInventory(&ctx, r, &response);
      if (!status.ok()) return Refused(status, ctx, common);
      tally(response.result());
    }
  }
  std::printf("seed --demo: %zu warehouses, %zu items; %zu commands applied, %zu duplicates (seeded before)\n",
              std::size(kDemoWarehouses), created.size(), applied, duplicates);
  return kExitOk;
}

}  // namespace ctl
