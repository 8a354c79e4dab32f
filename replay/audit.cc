#include "replay/audit.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/codec.h"
#include "ledger/stock_rules.h"
#include "replay/format.h"

namespace replay {
namespace {

namespace pb = inventory::v1;
using projector::Totals;

template <typename A, typename B>
void AddDiff(std::string* out, const std::string& field, const A& ledger_value, const B& view_value) {
  if constexpr (std::is_integral_v<A> && std::is_integral_v<B> && !std::is_same_v<A, bool>) {
    if (std::cmp_equal(ledger_value, view_value)) return;
  } else {
    if (ledger_value == view_value) return;
  }
  absl::StrAppend(out, out->empty() ? "" : "; ", field, ": ledger ", ledger_value, ", read model ", view_value);
}

bool NonZero(const ledger::StockLevel& l) { return l.on_hand != 0 || l.reserved != 0 || l.incoming != 0; }

std::string LevelDiff(const ledger::StockLevel& s, const pb::StockLevel& v) {
  std::string diff;
  AddDiff(&diff, "on_hand", s.on_hand, v.on_hand());
  AddDiff(&diff, "reserved", s.reserved, v.reserved());
  AddDiff(&diff, "available", s.available(), v.available());
  AddDiff(&diff, "incoming", s.incoming, v.incoming());
  return diff;
}

std::string ItemDiff(const ledger::ItemState& s, const pb::Item& v) {
  std::string diff;
  AddDiff(&diff, "name", s.name, v.name());
  AddDiff(&diff, "category", s.category, v.category());
  AddDiff(&diff, "reorder_point", s.reorder_point, v.reorder_point());
  AddDiff(&diff, "reorder_quantity", s.reorder_quantity, v.reorder_quantity());
  const pb::ItemStatus status =
      s.status == ledger::ItemStatus::kActive ? pb::ITEM_STATUS_ACTIVE : pb::ITEM_STATUS_DISCONTINUED;
  AddDiff(&diff, "status", pb::ItemStatus_Name(status), pb::ItemStatus_Name(v.status()));
  bool same_attributes = static_cast<size_t>(v.attributes_size()) == s.attributes.size();
  for (size_t i = 0; same_attributes && i < s.attributes.size(); ++i) {
    const pb::Attribute& a = v.attributes(static_cast<int>(i));
    same_attributes = a.key() == s.attributes[i].key && a.value() == s.attributes[i].value;
  }
  if (!same_attributes) {
    absl::StrAppend(&diff, diff.empty() ? "" : "; ", "attributes: ledger ", s.attributes.size(), ", read model ",
                    v.attributes_size(), " (or different values)");
  }
  AddDiff(&diff, "sales_blocks", s.sales_blocks.size(), v.sales_blocks_size());
  for (size_t i = 0; i < s.sales_blocks.size() && i < static_cast<size_t>(v.sales_blocks_size()); ++i) {
    const ledger::SalesBlock& sb = s.sales_blocks[i];
    const pb::SalesBlock& vb = v.sales_blocks(static_cast<int>(i));
    const std::string field = absl::StrCat("sales_blocks[", i, "]");
    AddDiff(&diff, field + ".warehouse", sb.warehouse.value(), vb.warehouse());
    AddDiff(&diff, field + ".reason", sb.reason, vb.reason());
    AddDiff(&diff, field + ".blocked_at_ms", ledger::EpochMs(sb.blocked_at_ms), vb.blocked_at_ms());
    AddDiff(&diff, field + ".actor", sb.actor, vb.actor());
  }
  return diff;
}

// "SKU@WH: reason" ("SKU@*" for the everywhere block): one entry of the
// report's set of sales blocks.
std::string BlockEntry(std::string_view sku, std::string_view warehouse, std::string_view reason) {
  return absl::StrCat(base::AsAbsl(sku), "@", warehouse.empty() ? "*" : base::AsAbsl(warehouse), ": ",
                      base::AsAbsl(reason));
}

std::string WarehouseDiff(const ledger::WarehouseState& s, const pb::Warehouse& v) {
  std::string diff;
  AddDiff(&diff, "name", s.name, v.name());
  AddDiff(&diff, "region", s.region, v.region());
  AddDiff(&diff, "priority", s.priority, v.priority());
  AddDiff(&diff, "active", s.active, v.active());
  return diff;
}

std::string ReservationDiff(const ledger::State& state, const ledger::ReservationState& s, const pb::Reservation& v) {
  std::string diff;
  AddDiff(&diff, "order_id", s.order_id.value(), v.order_id());
  AddDiff(&diff, "status", pb::ReservationStatus_Name(ToProto(s.status())), pb::ReservationStatus_Name(v.status()));
  AddDiff(&diff, "created_at_ms", ledger::EpochMs(s.created_at_ms), v.created_at_ms());
  AddDiff(&diff, "expires_at_ms", ledger::EpochMs(s.expires_at_ms), v.expires_at_ms());
  AddDiff(&diff, "resolved_at_ms", ledger::EpochMs(s.resolved_at_ms), v.resolved_at_ms());
  // Every allocation slot by index; a slot whose event is not folded yet is
  // not present in the ledger and UNSPECIFIED in the read model.
  if (s.allocations.size() != static_cast<size_t>(v.allocations_size())) {
    AddDiff(&diff, "allocation_count", s.allocations.size(), v.allocations_size());
    return diff;
  }
  for (size_t i = 0; i < s.allocations.size(); ++i) {
    const ledger::ReservationAllocation& a = s.allocations[i];
    const pb::Allocation& va = v.allocations(static_cast<int>(i));
    const std::string field = absl::StrCat("allocations[", i, "]");
    if (!a.present || va.status() == pb::RESERVATION_STATUS_UNSPECIFIED) {
      AddDiff(&diff, field + ".folded", a.present, va.status() != pb::RESERVATION_STATUS_UNSPECIFIED);
      continue;
    }
    AddDiff(&diff, field + ".sku", state.item(a.item).sku.value(), va.sku());
    AddDiff(&diff, field + ".warehouse", state.warehouse(a.warehouse).code.value(), va.warehouse());
    AddDiff(&diff, field + ".quantity", a.quantity, va.quantity());
    AddDiff(&diff, field + ".request_line", a.request_line, va.request_line());
    AddDiff(&diff, field + ".released_quantity", a.released, va.released_quantity());
    AddDiff(&diff, field + ".status", pb::ReservationStatus_Name(ToProto(a.status)),
            pb::ReservationStatus_Name(va.status()));
  }
  return diff;
}

std::string TotalsDiff(const Totals& s, const Totals& v) {
  std::string diff;
  AddDiff(&diff, "on_hand", s.on_hand, v.on_hand);
  AddDiff(&diff, "reserved", s.reserved, v.reserved);
  AddDiff(&diff, "incoming", s.incoming, v.incoming);
  return diff;
}

void AddTo(Totals& t, const ledger::StockLevel& l) {
  t.on_hand += l.on_hand;
  t.reserved += l.reserved;
  t.incoming += l.incoming;
}

// Compares two keyed sums; a key absent on one side is all zeros.
void CompareTotals(std::string_view view, const std::map<std::string, Totals>& ledger_sums,
                   const std::vector<std::pair<std::string, Totals>>& view_sums, MismatchSink& sink) {
  std::map<std::string, Totals> merged_view(view_sums.begin(), view_sums.end());
  std::map<std::string, std::pair<Totals, Totals>> both;
  for (const auto& [key, t] : ledger_sums) both[key].first = t;
  for (const auto& [key, t] : merged_view) both[key].second = t;
  for (const auto& [key, pair] : both) {
    std::string diff = TotalsDiff(pair.first, pair.second);
    if (!diff.empty()) sink.Add(std::string(view), key, diff);
  }
}

// The SKUs of a Snapshot set scan, and of the ledger's, compared both ways.
void CompareSkuSets(std::string_view view, std::vector<std::string> ledger_skus, std::vector<std::string> view_skus,
                    MismatchSink& sink) {
  std::sort(ledger_skus.begin(), ledger_skus.end());
  std::sort(view_skus.begin(), view_skus.end());
  std::vector<std::string> only_ledger, only_view;
  std::set_difference(ledger_skus.begin(), ledger_skus.end(), view_skus.begin(), view_skus.end(),
                      std::back_inserter(only_ledger));
  std::set_difference(view_skus.begin(), view_skus.end(), ledger_skus.begin(), ledger_skus.end(),
                      std::back_inserter(only_view));
  for (const std::string& sku : only_ledger) sink.Add(std::string(view), sku, "in the ledger's set, not the read model's");
  for (const std::string& sku : only_view) sink.Add(std::string(view), sku, "in the read model's set, not the ledger's");
}

absl::Status CompareItems(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink) {
  uint64_t seen = 0;
  RETURN_IF_ERROR(views.ForEachItem("", [&](const pb::Item& v) {
    const ledger::ItemState* s = state.item(ledger::Sku(v.sku()));
    if (s == nullptr || !s->created) {
      sink.Add("item", v.sku(), "in the read model, never created in the log");
      return true;
    }
    ++seen;
    std::string diff = ItemDiff(*s, v);
    if (!diff.empty()) sink.Add("item", v.sku(), diff);
    return true;
  }));
  const auto created = static_cast<uint64_t>(
      std::count_if(state.items().begin(), state.items().end(), [](const auto& i) { return i.created; }));
  if (seen == created) return absl::OkStatus();
  for (const ledger::ItemState& item : state.items()) {  // slow path: name the missing ones
    if (!item.created) continue;
    ASSIGN_OR_RETURN(std::optional<pb::Item> v, views.Item(item.sku.value()));
    if (!v) sink.Add("item", item.sku.value(), "created in the log, missing from the read model");
  }
  return absl::OkStatus();
}

absl::Status CompareWarehouses(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink) {
  std::map<std::string, bool> seen;
  RETURN_IF_ERROR(views.ForEachWarehouse([&](const pb::Warehouse& v) {
    const ledger::WarehouseState* s = state.warehouse(ledger::WarehouseCode(v.warehouse()));
    if (s == nullptr || !s->registered) {
      sink.Add("warehouse", v.warehouse(), "in the read model, never registered in the log");
      return true;
    }
    seen[v.warehouse()] = true;
    std::string diff = WarehouseDiff(*s, v);
    if (!diff.empty()) sink.Add("warehouse", v.warehouse(), diff);
    return true;
  }));
  for (const ledger::WarehouseState& w : state.warehouses()) {
    if (w.registered && !seen.contains(w.code.value())) {
      sink.Add("warehouse", w.code.value(), "registered in the log, missing from the read model");
    }
  }
  return absl::OkStatus();
}

absl::Status CompareLevels(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink) {
  uint64_t seen_nonzero = 0;
  RETURN_IF_ERROR(views.ForEachLevel([&](const pb::StockLevel& v) {
    ledger::StockLevel s;
    std::optional<ledger::ItemIndex> item = state.FindItem(ledger::Sku(v.sku()));
    std::optional<ledger::WarehouseIndex> wh = state.FindWarehouse(ledger::WarehouseCode(v.warehouse()));
    if (item && wh) s = state.Level(*item, *wh);
    if (NonZero(s)) ++seen_nonzero;
    std::string diff = LevelDiff(s, v);
    if (!diff.empty()) sink.Add("level", absl::StrCat(v.sku(), "@", v.warehouse()), diff);
    return true;
  }));
  uint64_t nonzero = 0;
  for (const ledger::ItemState& item : state.items()) {
    for (const ledger::LevelEntry& e : item.levels) nonzero += NonZero(e.level) ? 1 : 0;
  }
  if (seen_nonzero == nonzero) return absl::OkStatus();
  for (const ledger::ItemState& item : state.items()) {  // slow path: name the missing ones
    for (const ledger::LevelEntry& e : item.levels) {
      if (!NonZero(e.level)) continue;
      const std::string& code = state.warehouse(e.warehouse).code.value();
      ASSIGN_OR_RETURN(std::optional<pb::StockLevel> v, views.Level(item.sku.value(), code));
      if (!v) sink.Add("level", absl::StrCat(item.sku.value(), "@", code), LevelDiff(e.level, pb::StockLevel()));
    }
  }
  return absl::OkStatus();
}

absl::Status CompareTotalsPerSku(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink) {
  for (const ledger::ItemState& item : state.items()) {
    ASSIGN_OR_RETURN(std::optional<pb::StockLevel> v, views.Total(item.sku.value()));
    const ledger::StockLevel s = state.TotalLevel(item.sku);
    std::string diff = LevelDiff(s, v ? *v : pb::StockLevel());
    if (!diff.empty()) sink.Add("total", item.sku.value(), diff);
  }
  return absl::OkStatus();
}

absl::Status CompareReservations(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink,
                                 AuditReport& report) {
  uint64_t seen = 0;
  RETURN_IF_ERROR(views.ForEachReservation("", [&](const pb::Reservation& v) {
    const ledger::ReservationState* s = state.reservation(ledger::ReservationId(v.reservation_id()));
    if (s == nullptr) {
      if (v.status() == pb::RESERVATION_STATUS_ACTIVE) {
        sink.Add("reservation", v.reservation_id(), "active in the read model, unknown to the ledger");
      } else {
        ++report.reservations_not_compared;  // resolved and forgotten by the fold's bound
      }
      return true;
    }
    ++seen;
    std::string diff = ReservationDiff(state, *s, v);
    if (!diff.empty()) sink.Add("reservation", v.reservation_id(), diff);
    return true;
  }));
  if (seen == state.reservations().size()) return absl::OkStatus();
  for (const auto& [id, r] : state.reservations()) {  // slow path: name the missing ones
    ASSIGN_OR_RETURN(std::optional<pb::Reservation> v, views.Reservation(id));
    if (!v) sink.Add("reservation", id, "in the ledger, missing from the read model");
  }
  return absl::OkStatus();
}

absl::Status CompareAggregates(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink,
                               const AuditReport& report) {
  std::map<std::string, Totals> by_warehouse, by_category;
  std::vector<std::string> low, out, blocks;
  for (const ledger::ItemState& item : state.items()) {
    for (const ledger::SalesBlock& b : item.sales_blocks) {
      blocks.push_back(BlockEntry(item.sku.value(), b.warehouse.value(), b.reason));
    }
    ledger::StockLevel total;
    for (const ledger::LevelEntry& e : item.levels) {
      AddTo(by_warehouse[state.warehouse(e.warehouse).code.value()], e.level);
      total.on_hand += e.level.on_hand;
      total.reserved += e.level.reserved;
      total.incoming += e.level.incoming;
    }
    AddTo(by_category[item.category], total);
    const ledger::StockFlags flags = ledger::FlagsOf(ledger::StockStateOf(item, total.available()));
    if (flags.low) low.push_back(item.sku.value());
    if (flags.out) out.push_back(item.sku.value());
  }
  ASSIGN_OR_RETURN(auto view_by_warehouse, views.WarehouseTotals());
  CompareTotals("warehouse_totals", by_warehouse, view_by_warehouse, sink);
  ASSIGN_OR_RETURN(auto view_by_category, views.CategoryTotals());
  CompareTotals("category_totals", by_category, view_by_category, sink);

  std::vector<std::string> view_low, view_out;
  RETURN_IF_ERROR(views.ForEachLowStock([&](const std::string& sku) {
    view_low.push_back(sku);
    return true;
  }));
  RETURN_IF_ERROR(views.ForEachOutOfStock([&](const std::string& sku) {
    view_out.push_back(sku);
    return true;
  }));
  CompareSkuSets("low_stock", std::move(low), std::move(view_low), sink);
  CompareSkuSets("out_of_stock", std::move(out), std::move(view_out), sink);
  std::vector<std::string> view_blocks;
  RETURN_IF_ERROR(views.ForEachSalesBlock([&](const pb::SalesBlock& b) {
    view_blocks.push_back(BlockEntry(b.sku(), b.warehouse(), b.reason()));
    return true;
  }));
  CompareSkuSets("sales_blocks", std::move(blocks), std::move(view_blocks), sink);

  if (report.reservations_not_compared > 0) return absl::OkStatus();  // counts include forgotten ones
  projector::ReservationCounts counts;
  for (const auto& [id, r] : state.reservations()) {
    switch (r.status()) {
      case ledger::ReservationStatus::kActive: ++counts.active; break;
      case ledger::ReservationStatus::kCommitted: ++counts.committed; break;
      case ledger::ReservationStatus::kReleased: ++counts.released; break;
      case ledger::ReservationStatus::kExpired: ++counts.expired; break;
    }
  }
  ASSIGN_OR_RETURN(projector::ReservationCounts view_counts, views.Counts());
  std::string diff;
  AddDiff(&diff, "active", counts.active, view_counts.active);
  AddDiff(&diff, "committed", counts.committed, view_counts.committed);
  AddDiff(&diff, "released", counts.released, view_counts.released);
  AddDiff(&diff, "expired", counts.expired, view_counts.expired);
  if (!diff.empty()) sink.Add("reservation_counts", "all", diff);
  return absl::OkStatus();
}

}  // namespace

void MismatchSink::Add(std::string view, std::string key, std::string what) {
  ++report_->mismatches_total;
  ++report_->mismatches_by_view[view];
  if (report_->mismatches.size() < examples_max_) {
    report_->mismatches.push_back({std::move(view), std::move(key), std::move(what)});
  }
}

absl::Status CompareWithReadModels(const ledger::State& state, const projector::Snapshot& views, MismatchSink& sink,
                                   AuditReport& report) {
  RETURN_IF_ERROR(CompareItems(state, views, sink));
  RETURN_IF_ERROR(CompareWarehouses(state, views, sink));
  RETURN_IF_ERROR(CompareLevels(state, views, sink));
  RETURN_IF_ERROR(CompareTotalsPerSku(state, views, sink));
  RETURN_IF_ERROR(CompareReservations(state, views, sink, report));
  RETURN_IF_ERROR(CompareAggregates(state, views, sink, report));
  report.compared = true;
  return absl::OkStatus();
}

absl::StatusOr<AuditReport> Audit(eventlog::EventLog& log, const projector::Snapshot* views, AuditOptions options) {
  AuditReport report;
  MismatchSink sink(&report, options.examples_max);
  FoldBounds bounds;
  ASSIGN_OR_RETURN(const base::NextOffsets ends, log.EndOffsets());
  if (views != nullptr) {
    const base::NextOffsets& applied = views->applied();
    if (applied.size() != ends.size()) {
      return absl::FailedPreconditionError(absl::StrCat("the read models follow ", applied.size(),
                                                        " partitions; the log has ", ends.size()));
    }
    for (uint32_t p = 0; p < ends.size(); ++p) {
      if (applied[p] > ends[p]) {
        sink.Add("positions", absl::StrCat("partition ", p),
                 absl::StrCat("read models applied up to offset ", applied[p], ", the log ends at ", ends[p]));
      }
    }
    bounds.until_offsets = applied;
  } else {
    bounds.until_offsets = ends;
  }
  options.fold.apply = true;
  options.fold.on_event = nullptr;
  options.fold.violation_examples_max = options.examples_max;
  Folder folder(std::move(options.fold));
  RETURN_IF_ERROR(folder.Run(log, bounds));
  const ledger::State& state = folder.state();
  report.events = folder.result().records_read;
  report.skus = state.items().size();
  report.warehouses = state.warehouses().size();
  report.reservations = state.reservations().size();
  report.positions = *bounds.until_offsets;
  report.violations_total = folder.result().violations_total;
  report.violations = folder.result().violations;
  if (views != nullptr) RETURN_IF_ERROR(CompareWithReadModels(state, *views, sink, report));
  return report;
}

std::string FormatAuditText(const AuditReport& r) {
  std::string out = absl::StrCat("audit: ", r.clean() ? "OK" : "FAILED", " (", r.violations_total, " violations, ",
                                 r.mismatches_total, " mismatches)\n");
  absl::StrAppend(&out, "events folded: ", r.events, "  skus: ", r.skus, "  warehouses: ", r.warehouses,
                  "  reservations: ", r.reservations, "\n");
  absl::StrAppend(&out, "positions (next offset per partition): ");
  for (size_t p = 0; p < r.positions.size(); ++p) absl::StrAppend(&out, p == 0 ? "" : ",", p, ":", r.positions[p]);
  absl::StrAppend(&out, "\n");
  if (!r.compared) absl::StrAppend(&out, "read models: not compared\n");
  if (r.reservations_not_compared > 0) {
    absl::StrAppend(&out, "reservations not compared (resolved, forgotten by the fold): ", r.reservations_not_compared,
                    "\n");
  }
  absl::StrAppend(&out, "violations: ", r.violations_total, "\n");
  for (const Violation& v : r.violations) {
    absl::StrAppend(&out, "  ", v.position.partition, ":", v.position.offset, " ", base::AsAbsl(ToString(v.kind)),
                    v.event_id.empty() ? "" : " event ", v.event_id, ": ", v.what, "\n");
  }
  if (r.violations.size() < r.violations_total) {
    absl::StrAppend(&out, "  ... ", r.violations_total - r.violations.size(), " more\n");
  }
  absl::StrAppend(&out, "mismatches: ", r.mismatches_total);
  for (const auto& [view, n] : r.mismatches_by_view) absl::StrAppend(&out, " ", view, "=", n);
  absl::StrAppend(&out, "\n");
  for (const Mismatch& m : r.mismatches) absl::StrAppend(&out, "  ", m.view, " ", m.key, ": ", m.what, "\n");
  if (r.mismatches.size() < r.mismatches_total) {
    absl::StrAppend(&out, "  ... ", r.mismatches_total - r.mismatches.size(), " more\n");
  }
  return out;
}

std::string FormatAuditJson(const AuditReport& r) {
  std::string out = absl::StrCat("{\"clean\":", r.clean() ? "true" : "false", ",\"compared\":",
                                 r.compared ? "true" : "false", ",\"events\":", r.events, ",\"skus\":", r.skus,
                                 ",\"warehouses\":", r.warehouses, ",\"reservations\":", r.reservations,
                                 ",\"positions\":[");
  for (size_t p = 0; p < r.positions.size(); ++p) absl::StrAppend(&out, p == 0 ? "" : ",", r.positions[p]);
  absl::StrAppend(&out, "],\"violations_total\":", r.violations_total, ",\"violations\":[");
  for (size_t i = 0; i < r.violations.size(); ++i) {
    const Violation& v = r.violations[i];
    absl::StrAppend(&out, i == 0 ? "" : ",", "{\"kind\":", JsonString(ToString(v.kind)),
                    ",\"partition\":", v.position.partition, ",\"offset\":", v.position.offset,
                    ",\"event_id\":", JsonString(v.event_id), ",\"what\":", JsonString(v.what), "}");
  }
  absl::StrAppend(&out, "],\"mismatches_total\":", r.mismatches_total, ",\"mismatches_by_view\":{");
  bool first = true;
  for (const auto& [view, n] : r.mismatches_by_view) {
    absl::StrAppend(&out, first ? "" : ",", JsonString(view), ":", n);
    first = false;
  }
  absl::StrAppend(&out, "},\"mismatches\":[");
  for (size_t i = 0; i < r.mismatches.size(); ++i) {
    const Mismatch& m = r.mismatches[i];
    absl::StrAppend(&out, i == 0 ? "" : ",", "{\"view\":", JsonString(m.view), ",\"key\":", JsonString(m.key),
                    ",\"what\":", JsonString(m.what), "}");
  }
  absl::StrAppend(&out, "],\"reservations_not_compared\":", r.reservations_not_compared, "}\n");
  return out;
}

}  // namespace replay
