// The ledger's state: the fold of every event so far. decide() reads it,
// evolve() is the only writer. It is what the command side holds in memory,
// what the audit tool rebuilds, and what snapshots save.
//
// Layout, for memory: SKUs and warehouse codes are interned to dense indexes;
// each item holds its per-warehouse levels inline (one LevelEntry of 32 bytes
// per warehouse that ever held the SKU).
//
// Bounded memory: remembered command ids and resolved reservations/transfers
// are kept for a window (count and age, LedgerOptions) and then forgotten; a
// forgotten command id is decided afresh, a forgotten reservation is unknown.
// Forgetting is driven by event time, so a replay forgets the same things.
//
// Thread-safety: none. One thread owns a State; share only copies.
#ifndef LEDGER_STATE_H_
#define LEDGER_STATE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "ledger/types.h"

namespace ledger {

struct LedgerOptions {
  // Most command ids remembered for idempotency. Default 1,000,000.
  std::size_t remembered_commands_max = 1'000'000;
  // How long a command id is remembered, by event time. Default 24 hours.
  DurationMs remembered_commands_age_max_ms = std::chrono::hours{24};
  // Most resolved reservations and received transfers kept. Default 1,000,000.
  std::size_t resolved_kept_max = 1'000'000;
  // How long resolved reservations and received transfers are kept. Default 7 days.
  DurationMs resolved_kept_age_max_ms = std::chrono::days{7};
};

using ItemIndex = std::uint32_t;
using WarehouseIndex = std::uint16_t;

struct StockLevel {
  Quantity on_hand = 0;
  Quantity reserved = 0;
  Quantity incoming = 0;
  Quantity available() const { return on_hand - reserved; }
  friend bool operator==(const StockLevel&, const StockLevel&) = default;
};

struct LevelEntry {
  WarehouseIndex warehouse = 0;
  StockLevel level;
  friend bool operator==(const LevelEntry&, const LevelEntry&) = default;
};

// A block of sales (BlockSales) of one item: at `warehouse`, or everywhere
// when it is empty.
struct SalesBlock {
  WarehouseCode warehouse;  // empty: every warehouse
  std::string reason;
  TimeMs blocked_at_ms{};
  std::string actor;
  friend bool operator==(const SalesBlock&, const SalesBlock&) = default;
};

struct ItemState {
  Sku sku;
  bool created = false;  // false: levels seen (e.g. replaying another partition first) before ItemCreated
  ItemStatus status = ItemStatus::kActive;
  std::string name;
  std::string category;
  Attributes attributes;
  Quantity reorder_point = 0;
  Quantity reorder_quantity = 0;
  absl::InlinedVector<LevelEntry, 3> levels;
  // In force, in warehouse-code order (so the everywhere block, "", first).
  std::vector<SalesBlock> sales_blocks;
  friend bool operator==(const ItemState&, const ItemState&) = default;
};

struct WarehouseState {
  WarehouseCode code;
  bool registered = false;
  std::string name;
  std::string region;
  std::int32_t priority = 0;
  bool active = false;
  friend bool operator==(const WarehouseState&, const WarehouseState&) = default;
};

struct ReservationAllocation {
  ItemIndex item = 0;
  WarehouseIndex warehouse = 0;
  std::uint32_t request_line = 0;
  Quantity quantity = 0;
  ReservationStatus status = ReservationStatus::kActive;
  bool present = false;  // its Reserved event has been folded
  Quantity released = 0;  // committed: the units its partial commit released
  // The units that left: quantity - released once committed, else 0.
  Quantity committed() const { return status == ReservationStatus::kCommitted ? quantity - released : 0; }
  friend bool operator==(const ReservationAllocation&, const ReservationAllocation&) = default;
};

struct ReservationState {
  ReservationId id;
  OrderId order_id;
  TimeMs created_at_ms{};
  TimeMs expires_at_ms{};  // the latest: ExtendReservation moves it later
  TimeMs resolved_at_ms{};
  // Indexed by allocation_index; sized allocation_count on the first event.
  absl::InlinedVector<ReservationAllocation, 1> allocations;
  // ACTIVE while any allocation is active, else the resolution
  // (ledger/stock_rules.h ReservationStatusOf).
  ReservationStatus status() const;
  bool complete() const;  // every allocation's Reserved event folded
  friend bool operator==(const ReservationState&, const ReservationState&) = default;
};

struct TransferState {
  TransferId id;
  ItemIndex item = 0;
  WarehouseIndex from = 0;
  WarehouseIndex to = 0;
  Quantity quantity = 0;
  bool shipped = false;
  bool received = false;
  TimeMs shipped_at_ms{};
  friend bool operator==(const TransferState&, const TransferState&) = default;
};

// What the ledger remembers of an applied command, to answer a retry.
enum class CommandKind : std::uint8_t {
  kCreateItem, kUpdateItem, kDiscontinueItem, kRegisterWarehouse, kUpdateWarehouse, kReceiveStock,
  kAdjustStock, kCountStock, kShipTransfer, kReceiveTransfer, kReserve, kCommitReservation,
  kReleaseReservation, kExpireReservation, kBlockSales, kUnblockSales,
  kExtendReservation,
};

struct CommandRecord {
  std::uint64_t fingerprint = 0;
  TimeMs applied_at_ms{};
  std::uint32_t event_count = 0;
  friend bool operator==(const CommandRecord&, const CommandRecord&) = default;
};

struct Command;  // ledger/command.h

class State {
 public:
  explicit State(LedgerOptions options = {});

  const LedgerOptions& options() const { return options_; }

  // Look-ups. nullptr / nullopt when unknown.
  std::optional<ItemIndex> FindItem(const Sku& sku) const;
  std::optional<WarehouseIndex> FindWarehouse(const WarehouseCode& code) const;
  const ItemState* item(const Sku& sku) const;
  const ItemState& item(ItemIndex index) const { return items_[index]; }
  const WarehouseState* warehouse(const WarehouseCode& code) const;
  const WarehouseState& warehouse(WarehouseIndex index) const { return warehouses_[index]; }
  const ReservationState* reservation(const ReservationId& id) const;
  const TransferState* transfer(const TransferId& id) const;
  const CommandRecord* command(const CommandId& id) const;

  // Asks the CPU to fetch the hash-table memory that deciding `command` will
  // probe (its command id, its reservation id, its lines' SKUs), without
  // waiting for it. With millions of reservations and command ids those
  // probes are cache and TLB misses; the writer issues this a few commands
  // ahead of the one it decides, so the misses overlap. Changes nothing.
  void Prefetch(const Command& command) const;

  // The level of (sku, warehouse); all zeros when never stocked.
  StockLevel Level(const Sku& sku, const WarehouseCode& warehouse) const;
  StockLevel Level(ItemIndex item, WarehouseIndex warehouse) const;
  // Sum over warehouses.
  StockLevel TotalLevel(const Sku& sku) const;

  // Active reservations whose expires_at_ms <= now_ms, oldest first, at most `max`.
  std::vector<ReservationId> ExpiredBy(TimeMs now_ms, std::size_t max) const;
  // The earliest expires_at_ms among active reservations.
  std::optional<TimeMs> NextExpiry() const;

  const std::vector<ItemState>& items() const { return items_; }
  const std::vector<WarehouseState>& warehouses() const { return warehouses_; }
  const absl::flat_hash_map<std::string, ReservationState>& reservations() const { return reservations_; }
  const absl::flat_hash_map<std::string, TransferState>& transfers() const { return transfers_; }
  std::size_t remembered_commands() const { return commands_.size(); }
  std::uint64_t events_applied() const { return events_applied_; }
  TimeMs time_high_water_ms() const { return time_high_water_ms_; }

  // Approximate heap and inline bytes held, for the memory benchmark.
  std::size_t ApproximateBytes() const;

  // Equal content (ignores bookkeeping order of the forgetting queues).
  friend bool operator==(const State& a, const State& b);

 private:
  friend class StateMutator;
  friend class SnapshotCodec;  // ledger/snapshot.cc: saves and restores every member

  LedgerOptions options_;
  absl::flat_hash_map<std::string, ItemIndex> item_index_;
  std::vector<ItemState> items_;
  absl::flat_hash_map<std::string, WarehouseIndex> warehouse_index_;
  std::vector<WarehouseState> warehouses_;
  absl::flat_hash_map<std::string, ReservationState> reservations_;
  absl::btree_set<std::pair<TimeMs, std::string>> active_by_expiry_;
  absl::flat_hash_map<std::string, TransferState> transfers_;
  absl::flat_hash_map<std::string, CommandRecord> commands_;
  std::deque<std::pair<TimeMs, std::string>> command_order_;
  // Resolved reservations and received transfers, in resolution order.
  struct Resolved {
    TimeMs at_ms{};
    enum class Kind : std::uint8_t { kReservation, kTransfer } kind = Kind::kReservation;
    std::string id;
  };
  std::deque<Resolved> resolved_order_;
  std::uint64_t events_applied_ = 0;
  TimeMs time_high_water_ms_{};
};

}  // namespace ledger

#endif  // LEDGER_STATE_H_
