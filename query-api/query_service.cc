#include "query-api/query_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/stock_rules.h"
#include "rpc/grpc_status.h"
#include "query-api/availability.h"
#include "query-api/page_token.h"

namespace query_api {
namespace {

using projector::Snapshot;

using rpc::ToGrpc;

void FillPosition(const base::NextOffsets& applied, pb::ReadPosition* out) {
  for (size_t p = 0; p < applied.size(); ++p) {
    pb::LogPosition* pos = out->add_applied();
    pos->set_partition(static_cast<uint32_t>(p));
    pos->set_offset(applied[p]);
  }
}

absl::StatusOr<std::vector<Position>> TokenPositions(const pb::ReadOptions& read, uint32_t partitions) {
  std::vector<Position> out;
  const auto& positions = read.min_token().positions();
  if (positions.size() > 4096) return base::InvalidField("read.min_token.positions", "at most 4096 positions");
  for (int i = 0; i < positions.size(); ++i) {
    if (positions[i].partition() >= partitions) {
      return base::InvalidField(absl::StrCat("read.min_token.positions[", i, "].partition"),
                                absl::StrCat("must be < ", partitions, ", the log's partition count"));
    }
    out.push_back({positions[i].partition(), positions[i].offset()});
  }
  return out;
}

absl::StatusOr<int> PageSize(int requested, const QueryServiceOptions& o) {
  if (requested == 0) return o.page_size_default;
  if (requested < 1 || requested > o.page_size_max) {
    return base::InvalidField("page_size", absl::StrCat("must be in 1..", o.page_size_max, ", got ", requested));
  }
  return requested;
}

absl::Status Required(std::string_view value, std::string_view field) {
  if (value.empty()) return base::InvalidField(field, "is required");
  return absl::OkStatus();
}

// The order lines of an availability check; `prefix` names the check in a bulk call.
absl::Status ValidateLines(const pb::CheckAvailabilityRequest& req, const std::string& prefix) {
  for (int i = 0; i < req.lines_size(); ++i) {
    const pb::OrderLine& l = req.lines(i);
    if (l.sku().empty()) return base::InvalidField(absl::StrCat(prefix, "lines[", i, "].sku"), "is required");
    if (l.quantity() <= 0) return base::InvalidField(absl::StrCat(prefix, "lines[", i, "].quantity"), "must be > 0");
  }
  return absl::OkStatus();
}

// One page of a keyed scan: collects up to page_size matches, examines at
// most scan_max rows, and remembers the last key examined.
class Pager {
 public:
  Pager(int page_size, int scan_max) : page_size_(page_size), scan_max_(scan_max) {}
  // Call per row after deciding whether it matched; false = stop the scan.
  bool Next(std::string key, bool matched) {
    last_key_ = std::move(key);
    matches_ += matched ? 1 : 0;
    ++scanned_;
    more_ = matches_ >= page_size_ || scanned_ >= scan_max_;
    return !more_;
  }
  // The token for the next page, or "" when the scan reached the end.
  std::string NextToken(PageKind kind, uint64_t filter) const {
    return more_ ? EncodePageToken(kind, filter, last_key_) : std::string();
  }

 private:
  const int page_size_;
  const int scan_max_;
  int matches_ = 0;
  int scanned_ = 0;
  bool more_ = false;
  std::string last_key_;
};

absl::StatusOr<bool> ItemMatches(const Snapshot& s, const pb::ListItemsRequest& req, const pb::Item& item) {
  if (!req.category().empty() && item.category() != req.category()) return false;
  if (req.status() != pb::ITEM_STATUS_UNSPECIFIED && item.status() != req.status()) return false;
  if (!req.warehouse().empty()) {
    ASSIGN_OR_RETURN(std::optional<pb::StockLevel> level, s.Level(item.sku(), req.warehouse()));
    if (!level || level->on_hand() <= 0) return false;
  }
  if (req.low_stock_only()) {  // low or out of stock, as the stream's filter
    ASSIGN_OR_RETURN(std::optional<pb::StockLevel> total, s.Total(item.sku()));
    int64_t available = total ? total->on_hand() - total->reserved() : 0;
    const ledger::StockFlags flags = ledger::FlagsOf(projector::StockStateOf(&item, available));
    if (!flags.low && !flags.out) return false;
  }
  return true;
}

void FillTotals(const std::vector<std::pair<std::string, projector::Totals>>& in,
                google::protobuf::RepeatedPtrField<pb::LevelTotals>* out) {
  for (const auto& [key, t] : in) {
    pb::LevelTotals* o = out->Add();
    o->set_key(key);
    o->set_on_hand(t.on_hand);
    o->set_reserved(t.reserved);
    o->set_available(t.available());
    o->set_incoming(t.incoming);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<QueryServiceImpl>> QueryServiceImpl::Create(ViewSource* source,
                                                                          QueryServiceOptions options) {
  std::unique_ptr<QueryServiceImpl> service(new QueryServiceImpl(source, options));
  ReadWaiter* waiter = &service->waiter_;
  ASSIGN_OR_RETURN(service->hub_, UpdateHub::Start(source, options.hub, [waiter] { waiter->Notify(); }));
  return service;
}

QueryServiceImpl::QueryServiceImpl(ViewSource* source, QueryServiceOptions options)
    : source_(source),
      options_(options),
      gate_(options.authenticator),
      waiter_(source, options.waiting_reads_max, options.waiter_recheck_ms),
      catch_up_pool_(options.catch_up_threads, options.catch_up_queue_max) {}

QueryServiceImpl::~QueryServiceImpl() { hub_.reset(); }

void QueryServiceImpl::Drain() {
  waiter_.Drain();
  hub_->CutAll(absl::UnavailableError(
      "query service is shutting down; resume with start_after set to the last position received"));
}

template <typename Resp, typename Fill>
grpc::ServerUnaryReactor* QueryServiceImpl::Read(grpc::CallbackServerContext* ctx, const pb::ReadOptions& read,
                                                 Resp* resp, Fill fill, Views views) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::vector<Position>> positions = TokenPositions(read, source_->partition_count());
  if (!positions.ok()) {
    reactor->Finish(ToGrpc(positions.status()));
    return reactor;
  }
  auto run = [this, reactor, resp, fill, views]() {
    std::unique_ptr<Snapshot> snapshot =
        views == Views::kLevels ? source_->NewLevelsSnapshot() : source_->NewSnapshot();
    FillPosition(snapshot->applied(), resp->mutable_position());
    reactor->Finish(ToGrpc(fill(*snapshot, resp)));
  };
  if (positions->empty() || Covered(source_->applied(), *positions)) {
    run();
    return reactor;
  }
  // Answer a little before the call's deadline, so the caller sees our
  // explanation rather than gRPC's bare DEADLINE_EXCEEDED.
  auto wait = options_.token_wait_max;
  auto call_deadline = ctx->deadline();
  auto now = std::chrono::system_clock::now();
  if (call_deadline < now + wait) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call_deadline - now);
    wait = std::max(std::chrono::milliseconds(0), left - std::min(left / 20, std::chrono::milliseconds(50)));
  }
  absl::Status parked = waiter_.Wait(std::move(*positions), std::chrono::steady_clock::now() + wait,
                                     [run, reactor](const absl::Status& s) {
                                       if (s.ok()) return run();
                                       reactor->Finish(ToGrpc(s));
                                     });
  if (!parked.ok()) reactor->Finish(ToGrpc(parked));
  return reactor;
}

grpc::ServerUnaryReactor* QueryServiceImpl::Refused(grpc::CallbackServerContext* ctx, std::string_view method) {
  auth::Admission admission = gate_.Admit(ctx, absl::StrCat(base::AsAbsl(auth::kQueryServicePrefix), base::AsAbsl(method)));
  if (admission.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(admission.status);
  return reactor;
}

namespace {
// Finishes at once with a validation error.
grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}
}  // namespace

grpc::ServerUnaryReactor* QueryServiceImpl::GetItem(grpc::CallbackServerContext* ctx, const pb::GetItemRequest* req,
                                                    pb::GetItemResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "GetItem")) return refused;
  if (absl::Status v = Required(req->sku(), "sku"); !v.ok()) return Refuse(ctx, v);
  return Read(ctx, req->read(), resp, [req](const Snapshot& s, pb::GetItemResponse* out) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<pb::Item> item, s.Item(req->sku()));
    if (!item) return absl::NotFoundError(absl::StrCat("sku: unknown SKU ", req->sku()));
    *out->mutable_item() = std::move(*item);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListItems(grpc::CallbackServerContext* ctx,
                                                      const pb::ListItemsRequest* req, pb::ListItemsResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "ListItems")) return refused;
  absl::StatusOr<int> page_size = PageSize(req->page_size(), options_);
  if (!page_size.ok()) return Refuse(ctx, page_size.status());
  if (!pb::ItemStatus_IsValid(req->status())) return Refuse(ctx, base::InvalidField("status", "unknown value"));
  uint64_t filter = FilterHash()
                        .Add(req->category())
                        .Add(int64_t{req->status()})
                        .Add(req->warehouse())
                        .Add(int64_t{req->low_stock_only()})
                        .value();
  absl::StatusOr<std::string> after = DecodePageToken(req->page_token(), PageKind::kItems, filter);
  if (!after.ok()) return Refuse(ctx, after.status());
  int scan_max = options_.scan_rows_max;
  return Read(ctx, req->read(), resp,
              [req, filter, after = *after, size = *page_size, scan_max](const Snapshot& s,
                                                                         pb::ListItemsResponse* out) -> absl::Status {
                Pager pager(size, scan_max);
                absl::Status failed;
                RETURN_IF_ERROR(s.ForEachItem(after, [&](const pb::Item& item) {
                  absl::StatusOr<bool> match = ItemMatches(s, *req, item);
                  if (!match.ok()) {
                    failed = match.status();
                    return false;
                  }
                  if (*match) *out->add_items() = item;
                  return pager.Next(item.sku(), *match);
                }));
                RETURN_IF_ERROR(failed);
                out->set_next_page_token(pager.NextToken(PageKind::kItems, filter));
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetInventoryLevels(grpc::CallbackServerContext* ctx,
                                                               const pb::GetInventoryLevelsRequest* req,
                                                               pb::GetInventoryLevelsResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "GetInventoryLevels")) return refused;
  if (req->skus_size() < 1 || req->skus_size() > options_.skus_max) {
    return Refuse(ctx, base::InvalidField("skus", absl::StrCat("give 1..", options_.skus_max, " SKUs, got ",
                                                               req->skus_size())));
  }
  for (int i = 0; i < req->skus_size(); ++i) {
    if (req->skus(i).empty()) return Refuse(ctx, base::InvalidField(absl::StrCat("skus[", i, "]"), "is empty"));
  }
  return Read(ctx, req->read(), resp,
              [req](const Snapshot& s, pb::GetInventoryLevelsResponse* out) -> absl::Status {
                for (int i = 0; i < req->skus_size(); ++i) {
                  const std::string& sku = req->skus(i);
                  pb::SkuLevels* levels = out->add_levels();
                  levels->set_sku(sku);
                  ASSIGN_OR_RETURN(std::optional<pb::StockLevel> total, s.Total(sku));
                  ASSIGN_OR_RETURN(std::shared_ptr<const pb::Item> item, s.SharedItem(sku));
                  if (item) *levels->mutable_sales_blocks() = item->sales_blocks();
                  if (!total) {
                    if (!item) return absl::NotFoundError(absl::StrCat("skus[", i, "]: unknown SKU ", sku));
                    levels->mutable_total()->set_sku(sku);
                    continue;
                  }
                  *levels->mutable_total() = std::move(*total);
                  RETURN_IF_ERROR(s.ForEachLevelOf(sku, [levels](const pb::StockLevel& l) {
                    *levels->add_warehouses() = l;
                    return true;
                  }));
                }
                return absl::OkStatus();
              },
              Views::kLevels);
}

grpc::ServerUnaryReactor* QueryServiceImpl::CheckAvailability(grpc::CallbackServerContext* ctx,
                                                              const pb::CheckAvailabilityRequest* req,
                                                              pb::CheckAvailabilityResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "CheckAvailability")) return refused;
  if (req->lines_size() < 1 || req->lines_size() > options_.skus_max) {
    return Refuse(ctx, base::InvalidField("lines", absl::StrCat("give 1..", options_.skus_max, " lines, got ",
                                                                req->lines_size())));
  }
  if (absl::Status v = ValidateLines(*req, ""); !v.ok()) return Refuse(ctx, v);
  return Read(
      ctx, req->read(), resp,
      [req](const Snapshot& s, pb::CheckAvailabilityResponse* out) { return FillAvailability(s, *req, out); },
      Views::kLevels);
}

grpc::ServerUnaryReactor* QueryServiceImpl::BulkCheckAvailability(grpc::CallbackServerContext* ctx,
                                                                  const pb::BulkCheckAvailabilityRequest* req,
                                                                  pb::BulkCheckAvailabilityResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "BulkCheckAvailability")) return refused;
  if (req->checks_size() < 1 || req->checks_size() > options_.skus_max) {
    return Refuse(ctx, base::InvalidField("checks", absl::StrCat("give 1..", options_.skus_max, " checks, got ",
                                                                 req->checks_size())));
  }
  int lines = 0;
  for (int i = 0; i < req->checks_size(); ++i) {
    const pb::CheckAvailabilityRequest& check = req->checks(i);
    lines += check.lines_size();
    std::string prefix = absl::StrCat("checks[", i, "].");
    if (check.lines_size() < 1) return Refuse(ctx, base::InvalidField(prefix + "lines", "give at least 1 line"));
    if (absl::Status v = ValidateLines(check, prefix); !v.ok()) return Refuse(ctx, v);
  }
  if (lines > options_.skus_max) {
    return Refuse(ctx, base::InvalidField("checks", absl::StrCat("at most ", options_.skus_max,
                                                                 " lines over all checks, got ", lines)));
  }
  return Read(ctx, req->read(), resp,
              [req](const Snapshot& s, pb::BulkCheckAvailabilityResponse* out) -> absl::Status {
                return FillAvailabilities(s, req->checks(), out->mutable_results());
              },
              Views::kLevels);
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetWarehouse(grpc::CallbackServerContext* ctx,
                                                         const pb::GetWarehouseRequest* req,
                                                         pb::GetWarehouseResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "GetWarehouse")) return refused;
  if (absl::Status v = Required(req->warehouse(), "warehouse"); !v.ok()) return Refuse(ctx, v);
  return Read(ctx, req->read(), resp, [req](const Snapshot& s, pb::GetWarehouseResponse* out) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<pb::Warehouse> w, s.Warehouse(req->warehouse()));
    if (!w) return absl::NotFoundError(absl::StrCat("warehouse: unknown warehouse ", req->warehouse()));
    *out->mutable_warehouse() = std::move(*w);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListWarehouses(grpc::CallbackServerContext* ctx,
                                                           const pb::ListWarehousesRequest* req,
                                                           pb::ListWarehousesResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "ListWarehouses")) return refused;
  return Read(ctx, req->read(), resp, [](const Snapshot& s, pb::ListWarehousesResponse* out) {
    return s.ForEachWarehouse([out](const pb::Warehouse& w) {
      *out->add_warehouses() = w;
      return true;
    });
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetWarehouseInventory(grpc::CallbackServerContext* ctx,
                                                                  const pb::GetWarehouseInventoryRequest* req,
                                                                  pb::GetWarehouseInventoryResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "GetWarehouseInventory")) return refused;
  if (absl::Status v = Required(req->warehouse(), "warehouse"); !v.ok()) return Refuse(ctx, v);
  absl::StatusOr<int> page_size = PageSize(req->page_size(), options_);
  if (!page_size.ok()) return Refuse(ctx, page_size.status());
  uint64_t filter = FilterHash().Add(req->warehouse()).value();
  absl::StatusOr<std::string> after = DecodePageToken(req->page_token(), PageKind::kWarehouseLevels, filter);
  if (!after.ok()) return Refuse(ctx, after.status());
  int scan_max = options_.scan_rows_max;
  return Read(ctx, req->read(), resp,
              [req, filter, after = *after, size = *page_size, scan_max](
                  const Snapshot& s, pb::GetWarehouseInventoryResponse* out) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<pb::Warehouse> w, s.Warehouse(req->warehouse()));
                if (!w) return absl::NotFoundError(absl::StrCat("warehouse: unknown warehouse ", req->warehouse()));
                // Items in SKU order, one point read each: the levels key
                // space is (SKU, warehouse), so this is the order it pages in.
                Pager pager(size, scan_max);
                absl::Status failed;
                RETURN_IF_ERROR(s.ForEachItem(after, [&](const pb::Item& item) {
                  absl::StatusOr<std::optional<pb::StockLevel>> level = s.Level(item.sku(), req->warehouse());
                  if (!level.ok()) {
                    failed = level.status();
                    return false;
                  }
                  if (level->has_value()) *out->add_levels() = std::move(**level);
                  return pager.Next(item.sku(), level->has_value());
                }));
                RETURN_IF_ERROR(failed);
                out->set_next_page_token(pager.NextToken(PageKind::kWarehouseLevels, filter));
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetReservation(grpc::CallbackServerContext* ctx,
                                                           const pb::GetReservationRequest* req,
                                                           pb::GetReservationResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "GetReservation")) return refused;
  if (absl::Status v = Required(req->reservation_id(), "reservation_id"); !v.ok()) return Refuse(ctx, v);
  return Read(ctx, req->read(), resp, [req](const Snapshot& s, pb::GetReservationResponse* out) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<pb::Reservation> r, s.Reservation(req->reservation_id()));
    if (!r) return absl::NotFoundError(absl::StrCat("reservation_id: unknown reservation ", req->reservation_id()));
    *out->mutable_reservation() = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListReservations(grpc::CallbackServerContext* ctx,
                                                             const pb::ListReservationsRequest* req,
                                                             pb::ListReservationsResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "ListReservations")) return refused;
  absl::StatusOr<int> page_size = PageSize(req->page_size(), options_);
  if (!page_size.ok()) return Refuse(ctx, page_size.status());
  if (!pb::ReservationStatus_IsValid(req->status())) return Refuse(ctx, base::InvalidField("status", "unknown value"));
  uint64_t filter = FilterHash().Add(req->order_id()).Add(int64_t{req->status()}).value();
  absl::StatusOr<std::string> after = DecodePageToken(req->page_token(), PageKind::kReservations, filter);
  if (!after.ok()) return Refuse(ctx, after.status());
  int scan_max = options_.scan_rows_max;
  return Read(
      ctx, req->read(), resp,
      [req, filter, after = *after, size = *page_size, scan_max](const Snapshot& s,
                                                                 pb::ListReservationsResponse* out) -> absl::Status {
        Pager pager(size, scan_max);
        auto visit = [&](const pb::Reservation& r) {
          bool match = req->status() == pb::RESERVATION_STATUS_UNSPECIFIED || r.status() == req->status();
          if (match) *out->add_reservations() = r;
          return pager.Next(r.reservation_id(), match);
        };
        if (req->order_id().empty()) {
          RETURN_IF_ERROR(s.ForEachReservation(after, visit));
        } else {
          RETURN_IF_ERROR(s.ForEachReservationOfOrder(req->order_id(), after, visit));
        }
        out->set_next_page_token(pager.NextToken(PageKind::kReservations, filter));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListMovements(grpc::CallbackServerContext* ctx,
                                                          const pb::ListMovementsRequest* req,
                                                          pb::ListMovementsResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "ListMovements")) return refused;
  if (absl::Status v = Required(req->sku(), "sku"); !v.ok()) return Refuse(ctx, v);
  if (req->since_ms() < 0) return Refuse(ctx, base::InvalidField("since_ms", "must be >= 0"));
  if (req->until_ms() < 0 || (req->until_ms() != 0 && req->until_ms() <= req->since_ms())) {
    return Refuse(ctx, base::InvalidField("until_ms", "must be 0 (no end) or > since_ms"));
  }
  absl::StatusOr<int> page_size = PageSize(req->page_size(), options_);
  if (!page_size.ok()) return Refuse(ctx, page_size.status());
  uint64_t filter = FilterHash().Add(req->sku()).Add(req->since_ms()).Add(req->until_ms()).value();
  absl::StatusOr<std::string> after = DecodePageToken(req->page_token(), PageKind::kMovements, filter);
  if (!after.ok()) return Refuse(ctx, after.status());
  ViewSource* source = source_;
  return Read(ctx, req->read(), resp,
              [req, filter, source, after = *after, size = *page_size](
                  const Snapshot& s, pb::ListMovementsResponse* out) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<pb::Item> item, s.Item(req->sku()));
                if (!item) return absl::NotFoundError(absl::StrCat("sku: unknown SKU ", req->sku()));
                Pager pager(size, size);
                RETURN_IF_ERROR(s.ForEachMovementOf(
                    req->sku(), req->since_ms(), req->until_ms(), after, [&](const pb::InventoryUpdate& u) {
                      pb::Movement* m = out->add_movements();
                      *m = u.movement();
                      if (!m->has_position()) *m->mutable_position() = u.position();
                      return pager.Next(source->MovementCursor(u), true);
                    }));
                out->set_next_page_token(pager.NextToken(PageKind::kMovements, filter));
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetInventoryReport(grpc::CallbackServerContext* ctx,
                                                               const pb::GetInventoryReportRequest* req,
                                                               pb::GetInventoryReportResponse* resp) {
  if (grpc::ServerUnaryReactor* refused = Refused(ctx, "GetInventoryReport")) return refused;
  int lists_max = options_.report_skus_max;
  return Read(ctx, req->read(), resp,
              [lists_max](const Snapshot& s, pb::GetInventoryReportResponse* out) -> absl::Status {
                ASSIGN_OR_RETURN(auto by_warehouse, s.WarehouseTotals());
                FillTotals(by_warehouse, out->mutable_by_warehouse());
                ASSIGN_OR_RETURN(auto by_category, s.CategoryTotals());
                FillTotals(by_category, out->mutable_by_category());
                RETURN_IF_ERROR(s.ForEachLowStock([&](const std::string& sku) {
                  out->add_low_stock_skus(sku);
                  return out->low_stock_skus_size() < lists_max;
                }));
                RETURN_IF_ERROR(s.ForEachOutOfStock([&](const std::string& sku) {
                  out->add_out_of_stock_skus(sku);
                  return out->out_of_stock_skus_size() < lists_max;
                }));
                out->set_skus_truncated(out->low_stock_skus_size() >= lists_max ||
                                        out->out_of_stock_skus_size() >= lists_max);
                RETURN_IF_ERROR(s.ForEachSalesBlock([&](const pb::SalesBlock& b) {
                  *out->add_sales_blocks() = b;
                  return out->sales_blocks_size() < lists_max;
                }));
                out->set_sales_blocks_truncated(out->sales_blocks_size() >= lists_max);
                ASSIGN_OR_RETURN(projector::ReservationCounts c, s.Counts());
                out->set_active_reservations(c.active);
                out->set_committed_reservations(c.committed);
                out->set_released_reservations(c.released);
                out->set_expired_reservations(c.expired);
                int64_t resolved = c.committed + c.released + c.expired;
                out->set_expiry_rate(resolved == 0 ? 0.0
                                                   : static_cast<double>(c.expired) / static_cast<double>(resolved));
                return absl::OkStatus();
              });
}

grpc::ServerWriteReactor<pb::InventoryUpdate>* QueryServiceImpl::StreamInventoryUpdates(
    grpc::CallbackServerContext* ctx, const pb::StreamInventoryUpdatesRequest* req) {
  auth::Admission admission =
      gate_.Admit(ctx, absl::StrCat(base::AsAbsl(auth::kQueryServicePrefix), "StreamInventoryUpdates"));
  if (!admission.ok()) return new auth::RefusedWriter<pb::InventoryUpdate>(admission.status);
  StreamContext context{source_, hub_.get(), &catch_up_pool_, options_.stream};
  return StartUpdateStream(ctx, context, *req);
}

}  // namespace query_api
