#include "ledger/decide.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/allocation.h"
#include "ledger/derived_ids.h"
#include "ledger/stock_rules.h"
#include "ledger/validate.h"

namespace ledger {
namespace {

using base::AsAbsl;

Rejection Reject(RejectionReason reason, std::string message) {
  Rejection r;
  r.reason = reason;
  r.message = std::move(message);
  return r;
}

// Collects a command's events and stamps their envelopes.
class EventBuilder {
 public:
  EventBuilder(const CommandMeta& meta, std::uint64_t fingerprint) : meta_(meta), fingerprint_(fingerprint) {}

  void Add(const Sku& sku, EventPayload payload) {
    Event& e = events_.emplace_back();
    e.envelope.sku = sku;
    e.payload = std::move(payload);
  }

  std::vector<Event> Finish() && {
    auto count = static_cast<std::uint32_t>(events_.size());
    for (std::uint32_t i = 0; i < count; ++i) Stamp(events_[i].envelope, i, count);
    return std::move(events_);
  }

 private:
  void Stamp(Envelope& env, std::uint32_t index, std::uint32_t count) const {
    env.event_id = EventIdFor(meta_.command_id, meta_.now_ms, index);
    env.schema_version = kSchemaVersion;
    env.occurred_at_ms = meta_.now_ms;
    env.command_id = meta_.command_id;
    env.actor = meta_.actor;
    env.correlation_id = meta_.correlation_id;
    env.traceparent = meta_.traceparent;
    env.command_fingerprint = fingerprint_;
    env.command_event_index = index;
    env.command_event_count = count;
  }

  const CommandMeta& meta_;
  std::uint64_t fingerprint_;
  std::vector<Event> events_;
};

using Result = std::variant<std::vector<Event>, Rejection>;

// What a command needs of the item or warehouse it names.
enum class Need {
  kKnown,   // created / registered; a discontinued item or an inactive warehouse will do
  kActive,  // and also not discontinued / active
};

// Looks up a created item, or says why it cannot be used.
std::variant<ItemIndex, Rejection> KnownItem(const State& state, const Sku& sku, Need need) {
  std::optional<ItemIndex> index = state.FindItem(sku);
  if (!index || !state.item(*index).created) {
    return Reject(RejectionReason::kUnknownItem, absl::StrCat("unknown sku ", sku.value()));
  }
  if (need == Need::kActive && state.item(*index).status == ItemStatus::kDiscontinued) {
    return Reject(RejectionReason::kItemDiscontinued, absl::StrCat("sku ", sku.value(), " is discontinued"));
  }
  return *index;
}

std::variant<WarehouseIndex, Rejection> KnownWarehouse(const State& state, const WarehouseCode& code, Need need) {
  std::optional<WarehouseIndex> index = state.FindWarehouse(code);
  if (!index || !state.warehouse(*index).registered) {
    return Reject(RejectionReason::kUnknownWarehouse, absl::StrCat("unknown warehouse ", code.value()));
  }
  if (need == Need::kActive && !state.warehouse(*index).active) {
    return Reject(RejectionReason::kWarehouseInactive, absl::StrCat("warehouse ", code.value(), " is inactive"));
  }
  return *index;
}

std::optional<Rejection> AboveMax(const char* figure, Quantity current, Quantity add) {
  if (current + add <= kStockMax) return std::nullopt;
  return Reject(RejectionReason::kLimitExceeded, absl::StrCat(figure, " would be ", current + add,
                                                              ", above the maximum ", kStockMax));
}

// Resolves an item and a warehouse, or returns the rejection.
#define USE_ITEM(var, state, sku, need)                                 \
  auto var##_or = KnownItem(state, sku, need);                          \
  if (auto* r = std::get_if<Rejection>(&var##_or)) return std::move(*r); \
  ItemIndex var = std::get<ItemIndex>(var##_or)
#define USE_WAREHOUSE(var, state, code, need)                                \
  auto var##_or = KnownWarehouse(state, code, need);                          \
  if (auto* r = std::get_if<Rejection>(&var##_or)) return std::move(*r);      \
  WarehouseIndex var = std::get<WarehouseIndex>(var##_or)

class Decider {
 public:
  Decider(const State& state, const CommandMeta& meta, std::uint64_t fingerprint)
      : state_(state), builder_(meta, fingerprint), meta_(meta) {}

  Result operator()(const CreateItem& c) {
    const ItemState* existing = state_.item(c.sku);
    if (existing != nullptr && existing->created) {
      return Reject(RejectionReason::kAlreadyExists, absl::StrCat("sku ", c.sku.value(), " already exists"));
    }
    builder_.Add(c.sku, ItemCreated{.name = c.name,
                                    .category = c.category,
                                    .attributes = c.attributes,
                                    .reorder_point = c.reorder_point,
                                    .reorder_quantity = c.reorder_quantity});
    return Done();
  }

  Result operator()(const UpdateItem& c) {
    USE_ITEM(item, state_, c.sku, Need::kKnown);
    (void)item;
    builder_.Add(c.sku, ItemUpdated{.name = c.name,
                                    .category = c.category,
                                    .attributes = c.attributes,
                                    .reorder_point = c.reorder_point,
                                    .reorder_quantity = c.reorder_quantity});
    return Done();
  }

  Result operator()(const DiscontinueItem& c) {
    USE_ITEM(item, state_, c.sku, Need::kActive);
    (void)item;
    builder_.Add(c.sku, ItemDiscontinued{});
    return Done();
  }

  Result operator()(const RegisterWarehouse& c) {
    const WarehouseState* existing = state_.warehouse(c.warehouse);
    if (existing != nullptr && existing->registered) {
      return Reject(RejectionReason::kAlreadyExists,
                    absl::StrCat("warehouse ", c.warehouse.value(), " already exists"));
    }
    if (existing == nullptr && state_.warehouses().size() >= kWarehousesMax) {
      return Reject(RejectionReason::kLimitExceeded, absl::StrCat("at most ", kWarehousesMax, " warehouses"));
    }
    builder_.Add(Sku(), WarehouseRegistered{c.warehouse, c.name, c.region, c.priority, c.active});
    return Done();
  }

  Result operator()(const UpdateWarehouse& c) {
    USE_WAREHOUSE(index, state_, c.warehouse, Need::kKnown);
    const WarehouseState& w = state_.warehouse(index);
    builder_.Add(Sku(), WarehouseUpdated{c.warehouse, c.name.value_or(w.name), c.region.value_or(w.region),
                                         c.priority.value_or(w.priority), c.active.value_or(w.active)});
    return Done();
  }

  Result operator()(const ReceiveStock& c) {
    USE_ITEM(item, state_, c.sku, Need::kActive);
    USE_WAREHOUSE(wh, state_, c.warehouse, Need::kActive);
    if (auto r = AboveMax("on_hand", state_.Level(item, wh).on_hand, c.quantity)) return std::move(*r);
    builder_.Add(c.sku, StockReceived{c.warehouse, c.quantity, c.reference});
    return Done();
  }

  Result operator()(const AdjustStock& c) {
    USE_ITEM(item, state_, c.sku, Need::kKnown);
    USE_WAREHOUSE(wh, state_, c.warehouse, Need::kKnown);
    StockLevel level = state_.Level(item, wh);
    if (auto r = OnHandChanged(c.expected_on_hand, level)) return std::move(*r);
    if (auto r = BelowReserved(level, level.on_hand + c.delta)) return std::move(*r);
    if (auto r = AboveMax("on_hand", level.on_hand, c.delta)) return std::move(*r);
    builder_.Add(c.sku, StockAdjusted{c.warehouse, c.delta, c.reason, c.reference});
    return Done();
  }

  Result operator()(const CountStock& c) {
    USE_ITEM(item, state_, c.sku, Need::kKnown);
    USE_WAREHOUSE(wh, state_, c.warehouse, Need::kKnown);
    StockLevel level = state_.Level(item, wh);
    if (auto r = OnHandChanged(c.expected_on_hand, level)) return std::move(*r);
    if (auto r = BelowReserved(level, c.counted)) return std::move(*r);
    builder_.Add(c.sku, StockCounted{.warehouse = c.warehouse, .counted = c.counted, .delta = c.counted - level.on_hand});
    return Done();
  }

  Result operator()(const ShipTransfer& c) {
    if (state_.transfer(c.transfer_id) != nullptr) {
      return Reject(RejectionReason::kAlreadyExists,
                    absl::StrCat("transfer ", c.transfer_id.value(), " already exists"));
    }
    USE_ITEM(item, state_, c.sku, Need::kKnown);
    USE_WAREHOUSE(from, state_, c.from, Need::kKnown);
    USE_WAREHOUSE(to, state_, c.to, Need::kActive);
    Quantity available = state_.Level(item, from).available();
    if (available < c.quantity) {
      Rejection r = Reject(RejectionReason::kInsufficientStock,
                           absl::StrCat("insufficient stock of ", c.sku.value(), " at ", c.from.value(),
                                        ": requested ", c.quantity, ", available ", available));
      r.lines.push_back({0, c.sku, c.quantity, std::max<Quantity>(available, 0)});
      return r;
    }
    if (auto r = AboveMax("incoming", state_.Level(item, to).incoming, c.quantity)) return std::move(*r);
    builder_.Add(c.sku, TransferShipped{c.transfer_id, c.from, c.to, c.quantity});
    return Done();
  }

  Result operator()(const ReceiveTransfer& c) {
    const TransferState* t = state_.transfer(c.transfer_id);
    if (t == nullptr) {
      return Reject(RejectionReason::kUnknownTransfer, absl::StrCat("unknown transfer ", c.transfer_id.value()));
    }
    if (t->received) {
      return Reject(RejectionReason::kAlreadyResolved,
                    absl::StrCat("transfer ", c.transfer_id.value(), " was already received"));
    }
    if (auto r = AboveMax("on_hand", state_.Level(t->item, t->to).on_hand, t->quantity)) return std::move(*r);
    const Sku& sku = state_.item(t->item).sku;
    builder_.Add(sku, TransferReceived{c.transfer_id, state_.warehouse(t->from).code, state_.warehouse(t->to).code,
                                       t->quantity});
    return Done();
  }

  Result operator()(const Reserve& c) {
    if (state_.reservation(c.reservation_id) != nullptr) {
      return Reject(RejectionReason::kAlreadyExists,
                    absl::StrCat("reservation ", c.reservation_id.value(), " already exists"));
    }
    for (std::size_t i = 0; i < c.lines.size(); ++i) {
      if (auto r = CheckLine(c.lines[i], i)) return std::move(*r);
    }
    AllocationResult allocation = Allocate(state_, c.lines, c.split, c.preferred_region);
    if (!allocation.ok) return Insufficient(std::move(allocation.lines));
    if (allocation.picks.size() > kReservationAllocationsMax) {
      return Reject(RejectionReason::kLimitExceeded,
                    absl::StrCat("the reservation would split into ", allocation.picks.size(),
                                 " allocations; at most ", kReservationAllocationsMax));
    }
    auto count = static_cast<std::uint32_t>(allocation.picks.size());
    for (std::uint32_t i = 0; i < count; ++i) {
      const AllocationPick& p = allocation.picks[i];
      builder_.Add(state_.item(p.item).sku,
                   ReservationLineReserved{c.reservation_id, c.order_id, state_.warehouse(p.warehouse).code,
                                           p.quantity, meta_.now_ms + c.ttl_ms, i, count, p.request_line});
    }
    return Done();
  }

  Result operator()(const CommitReservation& c) {
    // Past its TTL a reservation holds nothing a commit may take, even if the
    // expiry timer has not yet recorded the expiry.
    const ReservationState* r = state_.reservation(c.reservation_id);
    if (r != nullptr && r->status() == ReservationStatus::kActive && meta_.now_ms >= r->expires_at_ms) {
      return Reject(RejectionReason::kAlreadyResolved,
                    absl::StrCat("reservation ", c.reservation_id.value(), " expired at ", EpochMs(r->expires_at_ms)));
    }
    // Units each allocation commits; the rest of it is released.
    std::vector<Quantity> committed;
    if (r != nullptr && r->complete() && r->status() == ReservationStatus::kActive) {
      if (c.lines.empty()) {
        for (const ReservationAllocation& a : r->allocations) committed.push_back(a.quantity);
      } else if (auto rejection = SplitCommit(*r, c.lines, committed)) {
        return std::move(*rejection);
      }
    }
    return Resolve(c.reservation_id, [&](const ReservationAllocation& a, std::uint32_t i) -> EventPayload {
      return ReservationCommitted{.reservation_id = c.reservation_id,
                                  .warehouse = state_.warehouse(a.warehouse).code,
                                  .quantity = committed[i],
                                  .allocation_index = i,
                                  .released_quantity = a.quantity - committed[i]};
    });
  }

  Result operator()(const ReleaseReservation& c) {
    const ReservationState* r = state_.reservation(c.reservation_id);
    if (c.if_committed == IfCommitted::kReturnStock && r != nullptr && r->complete() &&
        r->status() == ReservationStatus::kCommitted) {
      return ReturnCommitted(*r);
    }
    return Resolve(c.reservation_id, [&](const ReservationAllocation& a, std::uint32_t i) -> EventPayload {
      return ReservationReleased{.reservation_id = c.reservation_id,
                                 .warehouse = state_.warehouse(a.warehouse).code,
                                 .quantity = a.quantity,
                                 .allocation_index = i,
                                 .reason = c.reason};
    });
  }

  Result operator()(const BlockSales& c) {
    USE_ITEM(item, state_, c.sku, Need::kKnown);
    if (!c.warehouse.empty()) {
      USE_WAREHOUSE(wh, state_, c.warehouse, Need::kKnown);
      (void)wh;
    }
    if (const SalesBlock* b = ExactBlock(state_.item(item), c.warehouse)) {
      return Reject(RejectionReason::kAlreadyExists,
                    absl::StrCat(DescribeBlock(c.sku.value(), c.warehouse.value(), b->reason),
                                 " already; unblock first to change the reason"));
    }
    builder_.Add(c.sku, SalesBlocked{c.warehouse, c.reason});
    return Done();
  }

  Result operator()(const UnblockSales& c) {
    USE_ITEM(item, state_, c.sku, Need::kKnown);
    if (ExactBlock(state_.item(item), c.warehouse) == nullptr) {
      return Reject(RejectionReason::kNotBlocked,
                    absl::StrCat("sales of ", c.sku.value(), " are not blocked ",
                                 c.warehouse.empty() ? "everywhere" : absl::StrCat("at ", c.warehouse.value())));
    }
    builder_.Add(c.sku, SalesUnblocked{c.warehouse});
    return Done();
  }

  Result operator()(const ExtendReservation& c) {
    const ReservationState* r = state_.reservation(c.reservation_id);
    const TimeMs to = meta_.now_ms + c.ttl_ms;
    if (r != nullptr && r->complete() && r->status() == ReservationStatus::kActive) {
      // Past its TTL it holds nothing to extend, even before the timer records the expiry.
      if (meta_.now_ms >= r->expires_at_ms) {
        return Reject(RejectionReason::kAlreadyResolved, absl::StrCat("reservation ", c.reservation_id.value(),
                                                                      " expired at ", EpochMs(r->expires_at_ms)));
      }
      if (to <= r->expires_at_ms) {
        return Reject(RejectionReason::kExpiryNotLater,
                      absl::StrCat("reservation ", c.reservation_id.value(), " expires at ", EpochMs(r->expires_at_ms),
                                   "; the extension to ", EpochMs(to), " is not later"));
      }
    }
    return Resolve(c.reservation_id, [&](const ReservationAllocation& a, std::uint32_t i) -> EventPayload {
      return ReservationExtended{.reservation_id = c.reservation_id,
                                 .warehouse = state_.warehouse(a.warehouse).code,
                                 .allocation_index = i,
                                 .expires_at_ms = to};
    });
  }

  Result operator()(const ExpireReservation& c) {
    const ReservationState* r = state_.reservation(c.reservation_id);
    if (c.when == ExpireWhen::kDue && r != nullptr && r->status() == ReservationStatus::kActive &&
        meta_.now_ms < r->expires_at_ms) {
      return Reject(RejectionReason::kNotYetExpired,
                    absl::StrCat("reservation ", c.reservation_id.value(), " expires at ", EpochMs(r->expires_at_ms),
                                 ", not yet at ", EpochMs(meta_.now_ms)));
    }
    return Resolve(c.reservation_id, [&](const ReservationAllocation& a, std::uint32_t i) -> EventPayload {
      return ReservationExpired{.reservation_id = c.reservation_id,
                                .warehouse = state_.warehouse(a.warehouse).code,
                                .quantity = a.quantity,
                                .allocation_index = i};
    });
  }

 private:
  Result Done() { return std::move(builder_).Finish(); }

  // Optimistic concurrency: checked before any rule about the change itself,
  // since the caller decided the change on a figure that no longer holds.
  static std::optional<Rejection> OnHandChanged(const std::optional<Quantity>& expected, const StockLevel& level) {
    if (!expected || *expected == level.on_hand) return std::nullopt;
    Rejection r = Reject(RejectionReason::kOnHandChanged,
                         absl::StrCat("expected_on_hand is ", *expected, " but on hand is ", level.on_hand,
                                      " now; read the level again and decide again"));
    r.on_hand = level.on_hand;
    return r;
  }

  std::optional<Rejection> BelowReserved(const StockLevel& level, Quantity new_on_hand) const {
    if (new_on_hand >= level.reserved) return std::nullopt;
    return Reject(RejectionReason::kBelowReserved,
                  absl::StrCat("on_hand would be ", new_on_hand, ", below the ", level.reserved,
                               " reserved (available now ", level.available(), ")"));
  }

  std::optional<Rejection> CheckLine(const ReserveLine& line, std::size_t index) const {
    auto item = KnownItem(state_, line.sku, Need::kActive);
    if (auto* r = std::get_if<Rejection>(&item)) {
      r->message = absl::StrCat("lines[", index, "]: ", r->message);
      return std::move(*r);
    }
    if (!line.warehouse.empty()) {
      auto wh = KnownWarehouse(state_, line.warehouse, Need::kActive);
      if (auto* r = std::get_if<Rejection>(&wh)) {
        r->message = absl::StrCat("lines[", index, "]: ", r->message);
        return std::move(*r);
      }
    }
    // A line free to choose is refused only by the everywhere block; blocks
    // of single warehouses take those out of its allocation.
    if (const SalesBlock* b = SalesBlockOf(state_.item(std::get<ItemIndex>(item)), line.warehouse)) {
      return Reject(RejectionReason::kSalesBlocked,
                    absl::StrCat("lines[", index, "]: ", DescribeBlock(line.sku.value(), b->warehouse.value(), b->reason)));
    }
    return std::nullopt;
  }

  // A partial commit: into `committed` (one per allocation of `r`) the units
  // `lines` take from each, in allocation order within a line; or why the
  // lines do not fit `r`, naming the line's field.
  std::optional<Rejection> SplitCommit(const ReservationState& r, const std::vector<CommitLine>& lines,
                                       std::vector<Quantity>& committed) const {
    constexpr std::size_t kNone = ~std::size_t{0};
    std::vector<std::size_t> named_by(r.allocations.size(), kNone);
    committed.assign(r.allocations.size(), 0);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const CommitLine& line = lines[i];
      const char* selector = line.request_line ? ".request_line" : ".sku";
      Quantity held = 0;
      for (std::size_t k = 0; k < r.allocations.size(); ++k) {
        if (!Names(line, r.allocations[k])) continue;
        if (named_by[k] != kNone) {
          return InvalidField(absl::StrCat("lines[", i, "]", selector),
                              absl::StrCat("names allocations that lines[", named_by[k], "] names already"));
        }
        named_by[k] = i;
        held += r.allocations[k].quantity;
      }
      if (held == 0) {
        return InvalidField(absl::StrCat("lines[", i, "]", selector),
                            absl::StrCat("names nothing reservation ", r.id.value(), " holds"));
      }
      if (line.quantity > held) {
        return InvalidField(absl::StrCat("lines[", i, "].quantity"),
                            absl::StrCat("is ", line.quantity, ", more than the ", held, " reserved there"));
      }
      Quantity left = line.quantity;
      for (std::size_t k = 0; k < r.allocations.size() && left > 0; ++k) {
        if (named_by[k] != i) continue;
        committed[k] = std::min(left, r.allocations[k].quantity);
        left -= committed[k];
      }
    }
    return std::nullopt;
  }

  bool Names(const CommitLine& line, const ReservationAllocation& a) const {
    if (line.request_line) return a.request_line == *line.request_line;
    return state_.item(a.item).sku == line.sku && state_.warehouse(a.warehouse).code == line.warehouse;
  }

  // The block of exactly `scope` (not one that merely covers it).
  static const SalesBlock* ExactBlock(const ItemState& item, const WarehouseCode& scope) {
    for (const SalesBlock& b : item.sales_blocks) {
      if (b.warehouse == scope) return &b;
    }
    return nullptr;
  }

  static Rejection Insufficient(std::vector<LineAvailability> lines) {
    std::string message = "insufficient stock:";
    for (const LineAvailability& l : lines) {
      if (l.available >= l.requested) continue;
      absl::StrAppend(&message, " lines[", l.line, "] ", l.sku.value(), " requested ", l.requested, ", available ",
                      l.available, ";");
    }
    message.pop_back();
    Rejection r = Reject(RejectionReason::kInsufficientStock, std::move(message));
    r.lines = std::move(lines);
    return r;
  }

  template <typename MakePayload>
  Result Resolve(const ReservationId& id, MakePayload make) {
    const ReservationState* r = state_.reservation(id);
    if (r == nullptr) {
      return Reject(RejectionReason::kUnknownReservation, absl::StrCat("unknown reservation ", id.value()));
    }
    ReservationStatus status = r->status();
    if (!r->complete()) {
      // Only while replaying partitions out of order; the live writer never sees it.
      return Reject(RejectionReason::kUnknownReservation,
                    absl::StrCat("reservation ", id.value(), " is not fully recorded yet"));
    }
    if (status != ReservationStatus::kActive) {
      return Reject(RejectionReason::kAlreadyResolved,
                    absl::StrCat("reservation ", id.value(), " is already ", AsAbsl(ToString(status))));
    }
    for (std::uint32_t i = 0; i < r->allocations.size(); ++i) {
      const ReservationAllocation& a = r->allocations[i];
      builder_.Add(state_.item(a.item).sku, make(a, i));
    }
    return Done();
  }

  // The committed stock of `r` back on hand: one StockAdjusted (return) per
  // committed allocation. The reservation itself stays committed.
  Result ReturnCommitted(const ReservationState& r) {
    std::string reference = absl::StrCat("order ", r.order_id.value(), " cancelled after commit");
    if (reference.size() > kTextLengthMax) reference = "order cancelled after commit";
    for (const ReservationAllocation& a : r.allocations) {
      // A partial commit's released units never left; an allocation it released whole returns nothing.
      if (!a.present || a.committed() == 0) continue;
      if (auto rejection = AboveMax("on_hand", state_.Level(a.item, a.warehouse).on_hand, a.committed())) {
        return std::move(*rejection);
      }
      builder_.Add(state_.item(a.item).sku, StockAdjusted{state_.warehouse(a.warehouse).code, a.committed(),
                                                          AdjustmentReason::kReturn, reference});
    }
    // Never empty: a commit takes at least one unit (lines' quantities are > 0).
    return Done();
  }

  const State& state_;
  EventBuilder builder_;
  const CommandMeta& meta_;
};

#undef USE_ITEM
#undef USE_WAREHOUSE

}  // namespace

Decision Decide(const State& state, const Command& command) {
  Decision decision;
  if (auto r = ValidateMeta(command.meta)) {
    decision.rejection = std::move(r);
    return decision;
  }
  if (auto r = ValidateBody(command.body)) {
    decision.rejection = std::move(r);
    return decision;
  }
  std::uint64_t fingerprint = Fingerprint(command.body);
  if (const CommandRecord* seen = state.command(command.meta.command_id)) {
    if (seen->fingerprint == fingerprint) {
      decision.duplicate = true;
    } else {
      decision.rejection = InvalidField("command_id", "was already used for a different command");
      decision.rejection->reason = RejectionReason::kIdempotencyKeyReused;
    }
    return decision;
  }
  Result result = std::visit(Decider(state, command.meta, fingerprint), command.body);
  if (auto* events = std::get_if<std::vector<Event>>(&result)) {
    decision.events = std::move(*events);
  } else {
    decision.rejection = std::move(std::get<Rejection>(result));
  }
  return decision;
}

}  // namespace ledger
