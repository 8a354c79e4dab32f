// Snapshot encoding and the snapshot store.
//
// Byte layout of a snapshot file (all fixed-width integers little-endian):
//
//   file      := header body
//   header    := magic:"INVLSNAP" version:fixed32 version_check:fixed32
//                body_bytes:fixed64 checksum:fixed64          (32 bytes)
//   version_check := ~version      (a damaged version reads as damage, not as
//                                   "written by a newer build")
//   checksum  := StableHasher(kChecksumSeed) over
//                  AddInt(version) AddInt(body_bytes) AddBytes(body)
//   body      := inventory.internal.v1.Snapshot (proto/snapshot.proto),
//                protobuf binary, exactly body_bytes long
//
// A reader checks, in order: size >= header, magic, version_check, version
// (newer: FAILED_PRECONDITION, since a newer format may even checksum
// differently), body_bytes == what follows the header, checksum, protobuf
// parse, then the content (column sizes, indexes in range, no duplicate ids,
// stock invariants). Everything but the version test is DATA_LOSS.
//
// Why this shape: the body is protobuf so fields can be added without a
// hand-written versioned parser, but it is COLUMNAR (see snapshot.proto):
// one packed repeated field or one concatenated StringColumn per field, not
// one message per item. A million-SKU state is then a few dozen large
// buffers: parsing is memcpy plus tight varint loops, and nothing is
// allocated per row except the std::strings of the State itself (which SSO
// keeps inline for short SKUs). For the same reason no protobuf arena is
// used: with a handful of allocations per message there is nothing for it
// to save. Encoding looks nothing up in a hash map (at a million rows a
// cache and TLB miss per row costs more than all the rest): every table is
// written in its own iteration order.
//
// StableHasher (ledger/hash.h) is the checksum: it runs a word at a time, and
// since each step is a bijection of the running state for a fixed word, any
// change confined to one 8-byte word (e.g. a flipped byte) always changes
// the result.
//
// Size: protobuf messages are at most 2 GiB, so is the body. 1M SKUs x 3
// warehouses with 1M remembered commands is 97 MB; it encodes in about 0.5 s
// and decodes in about 1 s on one core of this project's dev machine
// (SnapshotLargeTest in snapshot_test.cc).
#include "ledger/snapshot.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/coding.h"
#include "base/log_position.h"
#include "base/status.h"
#include "ledger/hash.h"
#include "proto/snapshot.pb.h"

namespace ledger {

namespace pb = ::inventory::internal::v1;

namespace {

constexpr std::string_view kMagic = "INVLSNAP";
constexpr std::size_t kHeaderBytes = 32;
constexpr std::uint64_t kChecksumSeed = 0x736e617073686f74ULL;  // "snapshot"

std::uint64_t Checksum(std::uint32_t version, std::uint64_t body_bytes, std::string_view body) {
  StableHasher hasher(kChecksumSeed);
  hasher.AddInt(version);
  hasher.AddInt(static_cast<std::int64_t>(body_bytes));
  hasher.AddBytes(body);
  return hasher.Finish();
}

// Fills the first kHeaderBytes of `file` for the body that follows them.
void WriteHeader(std::string& file, std::uint32_t version) {
  const std::uint64_t body_bytes = file.size() - kHeaderBytes;
  std::memcpy(file.data(), kMagic.data(), kMagic.size());
  base::EncodeFixed32(file.data() + 8, version);
  base::EncodeFixed32(file.data() + 12, ~version);
  base::EncodeFixed64(file.data() + 16, body_bytes);
  base::EncodeFixed64(file.data() + 24, Checksum(version, body_bytes, std::string_view(file).substr(kHeaderBytes)));
}

template <typename... Parts>
absl::Status Corrupt(const Parts&... parts) {
  return absl::DataLossError(absl::StrCat("snapshot: ", parts...));
}

// Appends rows to a StringColumn.
class StringColumnWriter {
 public:
  // `bytes`: the rows' total size when known up front, to size the data once.
  StringColumnWriter(pb::StringColumn* column, std::size_t rows, std::size_t bytes = 0) : column_(column) {
    column_->mutable_lengths()->Reserve(static_cast<int>(rows));
    column_->mutable_data()->reserve(bytes);
  }
  void Add(const std::string& s) {
    column_->mutable_data()->append(s);
    column_->add_lengths(static_cast<std::uint32_t>(s.size()));
  }

 private:
  pb::StringColumn* column_;
};

// Reads the rows of a StringColumn in order.
class StringColumnReader {
 public:
  // DATA_LOSS unless `column` has exactly `rows` rows covering its data.
  static absl::StatusOr<StringColumnReader> Open(const pb::StringColumn& column, std::size_t rows,
                                                 std::string_view what) {
    if (static_cast<std::size_t>(column.lengths_size()) != rows) {
      return Corrupt(base::AsAbsl(what), " has ", column.lengths_size(), " rows, want ", rows);
    }
    std::uint64_t total = 0;
    for (std::uint32_t length : column.lengths()) total += length;
    if (total != column.data().size()) {
      return Corrupt(base::AsAbsl(what), " lengths sum to ", total, " but data holds ", column.data().size());
    }
    return StringColumnReader(column);
  }
  std::string_view Next() {
    std::string_view row(data_.data() + offset_, lengths_->Get(row_));
    offset_ += row.size();
    ++row_;
    return row;
  }

 private:
  explicit StringColumnReader(const pb::StringColumn& column) : data_(column.data()), lengths_(&column.lengths()) {}

  std::string_view data_;
  const google::protobuf::RepeatedField<std::uint32_t>* lengths_;
  std::size_t offset_ = 0;
  int row_ = 0;
};

// Interning a million SKUs is bound by cache and TLB misses: prefetching the
// slot of the row this far ahead overlaps them (measured: roughly a fifth off
// decoding items; no gain measured for the command map, so not used there).
constexpr std::size_t kPrefetchRows = 16;

// DATA_LOSS unless the repeated field `column` has `rows` rows.
template <typename Column>
absl::Status ExpectRows(const Column& column, std::size_t rows, std::string_view what) {
  if (static_cast<std::size_t>(column.size()) == rows) return absl::OkStatus();
  return Corrupt(base::AsAbsl(what), " has ", column.size(), " rows, want ", rows);
}

std::uint64_t Sum(const google::protobuf::RepeatedField<std::uint32_t>& counts) {
  std::uint64_t total = 0;
  for (std::uint32_t c : counts) total += c;
  return total;
}

pb::ItemStatus ToProto(ItemStatus status) {
  switch (status) {
    case ItemStatus::kActive: return pb::ITEM_STATUS_ACTIVE;
    case ItemStatus::kDiscontinued: return pb::ITEM_STATUS_DISCONTINUED;
  }
  INV_CHECK(false) << "unknown ItemStatus " << static_cast<int>(status);
  return pb::ITEM_STATUS_ACTIVE;
}

absl::StatusOr<ItemStatus> FromProtoItemStatus(int value) {
  switch (value) {
    case pb::ITEM_STATUS_ACTIVE: return ItemStatus::kActive;
    case pb::ITEM_STATUS_DISCONTINUED: return ItemStatus::kDiscontinued;
    default: return Corrupt("unknown item status ", value);
  }
}

pb::ReservationStatus ToProto(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kActive: return pb::RESERVATION_STATUS_ACTIVE;
    case ReservationStatus::kCommitted: return pb::RESERVATION_STATUS_COMMITTED;
    case ReservationStatus::kReleased: return pb::RESERVATION_STATUS_RELEASED;
    case ReservationStatus::kExpired: return pb::RESERVATION_STATUS_EXPIRED;
  }
  INV_CHECK(false) << "unknown ReservationStatus " << static_cast<int>(status);
  return pb::RESERVATION_STATUS_ACTIVE;
}

absl::StatusOr<ReservationStatus> FromProtoReservationStatus(int value) {
  switch (value) {
    case pb::RESERVATION_STATUS_ACTIVE: return ReservationStatus::kActive;
    case pb::RESERVATION_STATUS_COMMITTED: return ReservationStatus::kCommitted;
    case pb::RESERVATION_STATUS_RELEASED: return ReservationStatus::kReleased;
    case pb::RESERVATION_STATUS_EXPIRED: return ReservationStatus::kExpired;
    default: return Corrupt("unknown reservation status ", value);
  }
}

}  // namespace

// The one place outside evolve.cc that sees State's members: copies them to
// the columns of a pb::Snapshot and back. Decoding builds the state in place
// and checks as it goes, so no index it stores can point outside a table.
class SnapshotCodec {
 public:
  static void Encode(const State& s, pb::Snapshot& out) {
    out.set_events_applied(s.events_applied_);
    out.set_time_high_water_ms(EpochMs(s.time_high_water_ms_));
    EncodeItems(s, *out.mutable_items());
    EncodeWarehouses(s, out);
    EncodeReservations(s, *out.mutable_reservations());
    EncodeExpiry(s, *out.mutable_active_by_expiry());
    EncodeTransfers(s, *out.mutable_transfers());
    EncodeCommands(s, *out.mutable_commands());
    EncodeResolved(s, *out.mutable_resolved());
    EncodeSalesBlocks(s, *out.mutable_sales_blocks());
  }

  static absl::Status Decode(const pb::Snapshot& in, State& s) {
    s.events_applied_ = in.events_applied();
    s.time_high_water_ms_ = AtEpochMs(in.time_high_water_ms());
    RETURN_IF_ERROR(DecodeWarehouses(in, s));
    RETURN_IF_ERROR(DecodeItems(in.items(), s));
    RETURN_IF_ERROR(DecodeReservations(in.reservations(), s));
    RETURN_IF_ERROR(DecodeExpiry(in.active_by_expiry(), s));
    RETURN_IF_ERROR(DecodeTransfers(in.transfers(), s));
    RETURN_IF_ERROR(DecodeCommands(in.commands(), s));
    RETURN_IF_ERROR(DecodeResolved(in.resolved(), s));
    return DecodeSalesBlocks(in.sales_blocks(), s);
  }

 private:
  static void EncodeSalesBlocks(const State& s, pb::SalesBlockColumns& c) {
    StringColumnWriter warehouse(c.mutable_warehouse(), 0), reason(c.mutable_reason(), 0), actor(c.mutable_actor(), 0);
    for (std::size_t i = 0; i < s.items_.size(); ++i) {
      for (const SalesBlock& b : s.items_[i].sales_blocks) {
        c.add_item(static_cast<std::uint32_t>(i));
        warehouse.Add(b.warehouse.value());
        reason.Add(b.reason);
        c.add_blocked_at_ms(EpochMs(b.blocked_at_ms));
        actor.Add(b.actor);
      }
    }
  }

  static absl::Status DecodeSalesBlocks(const pb::SalesBlockColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.item_size());
    ASSIGN_OR_RETURN(StringColumnReader warehouse, StringColumnReader::Open(c.warehouse(), n, "sales_blocks.warehouse"));
    ASSIGN_OR_RETURN(StringColumnReader reason, StringColumnReader::Open(c.reason(), n, "sales_blocks.reason"));
    ASSIGN_OR_RETURN(StringColumnReader actor, StringColumnReader::Open(c.actor(), n, "sales_blocks.actor"));
    RETURN_IF_ERROR(ExpectRows(c.blocked_at_ms(), n, "sales_blocks.blocked_at_ms"));
    for (std::size_t row = 0; row < n; ++row) {
      const std::uint32_t item = c.item(static_cast<int>(row));
      if (item >= s.items_.size()) return Corrupt("sales block of item ", item, " outside the item table");
      std::vector<SalesBlock>& blocks = s.items_[item].sales_blocks;
      SalesBlock b{.warehouse = WarehouseCode(warehouse.Next()),
                   .reason = std::string(reason.Next()),
                   .blocked_at_ms = AtEpochMs(c.blocked_at_ms(static_cast<int>(row))),
                   .actor = std::string(actor.Next())};
      // Evolve keeps them in strict warehouse-code order; so must the file.
      if (!blocks.empty() && !(blocks.back().warehouse.value() < b.warehouse.value())) {
        return Corrupt("sales blocks of ", s.items_[item].sku.value(), " out of order or repeated");
      }
      blocks.push_back(std::move(b));
    }
    return absl::OkStatus();
  }

  static void EncodeItems(const State& s, pb::ItemColumns& c) {
    const std::size_t n = s.items_.size();
    std::size_t level_rows = 0, sku_bytes = 0, name_bytes = 0, category_bytes = 0;
    for (const ItemState& item : s.items_) {
      level_rows += item.levels.size();
      sku_bytes += item.sku.value().size();
      name_bytes += item.name.size();
      category_bytes += item.category.size();
    }
    StringColumnWriter sku(c.mutable_sku(), n, sku_bytes), name(c.mutable_name(), n, name_bytes),
        category(c.mutable_category(), n, category_bytes);
    StringColumnWriter attribute_key(c.mutable_attribute_key(), 0), attribute_value(c.mutable_attribute_value(), 0);
    const int rows = static_cast<int>(n), levels = static_cast<int>(level_rows);
    c.mutable_created()->Reserve(rows);
    c.mutable_status()->Reserve(rows);
    c.mutable_reorder_point()->Reserve(rows);
    c.mutable_reorder_quantity()->Reserve(rows);
    c.mutable_attribute_count()->Reserve(rows);
    c.mutable_level_count()->Reserve(rows);
    c.mutable_level_warehouse()->Reserve(levels);
    c.mutable_level_on_hand()->Reserve(levels);
    c.mutable_level_reserved()->Reserve(levels);
    c.mutable_level_incoming()->Reserve(levels);
    for (const ItemState& item : s.items_) {
      sku.Add(item.sku.value());
      c.add_created(item.created);
      c.add_status(ToProto(item.status));
      name.Add(item.name);
      category.Add(item.category);
      c.add_reorder_point(item.reorder_point);
      c.add_reorder_quantity(item.reorder_quantity);
      c.add_attribute_count(static_cast<std::uint32_t>(item.attributes.size()));
      for (const Attribute& a : item.attributes) {
        attribute_key.Add(a.key);
        attribute_value.Add(a.value);
      }
      c.add_level_count(static_cast<std::uint32_t>(item.levels.size()));
      for (const LevelEntry& e : item.levels) {
        c.add_level_warehouse(e.warehouse);
        c.add_level_on_hand(e.level.on_hand);
        c.add_level_reserved(e.level.reserved);
        c.add_level_incoming(e.level.incoming);
      }
    }
  }

  static absl::Status DecodeItems(const pb::ItemColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.sku().lengths_size());
    if (n > std::numeric_limits<ItemIndex>::max()) return Corrupt(n, " items exceed the ItemIndex range");
    const std::uint64_t attribute_rows = Sum(c.attribute_count()), level_rows = Sum(c.level_count());
    ASSIGN_OR_RETURN(StringColumnReader sku, StringColumnReader::Open(c.sku(), n, "items.sku"));
    ASSIGN_OR_RETURN(StringColumnReader name, StringColumnReader::Open(c.name(), n, "items.name"));
    ASSIGN_OR_RETURN(StringColumnReader category, StringColumnReader::Open(c.category(), n, "items.category"));
    ASSIGN_OR_RETURN(StringColumnReader key,
                     StringColumnReader::Open(c.attribute_key(), attribute_rows, "items.attribute_key"));
    ASSIGN_OR_RETURN(StringColumnReader value,
                     StringColumnReader::Open(c.attribute_value(), attribute_rows, "items.attribute_value"));
    RETURN_IF_ERROR(ExpectRows(c.created(), n, "items.created"));
    RETURN_IF_ERROR(ExpectRows(c.status(), n, "items.status"));
    RETURN_IF_ERROR(ExpectRows(c.reorder_point(), n, "items.reorder_point"));
    RETURN_IF_ERROR(ExpectRows(c.reorder_quantity(), n, "items.reorder_quantity"));
    RETURN_IF_ERROR(ExpectRows(c.attribute_count(), n, "items.attribute_count"));
    RETURN_IF_ERROR(ExpectRows(c.level_count(), n, "items.level_count"));
    RETURN_IF_ERROR(ExpectRows(c.level_warehouse(), level_rows, "items.level_warehouse"));
    RETURN_IF_ERROR(ExpectRows(c.level_on_hand(), level_rows, "items.level_on_hand"));
    RETURN_IF_ERROR(ExpectRows(c.level_reserved(), level_rows, "items.level_reserved"));
    RETURN_IF_ERROR(ExpectRows(c.level_incoming(), level_rows, "items.level_incoming"));
    s.items_.resize(n);
    s.item_index_.reserve(n);
    StringColumnReader ahead = sku;
    for (std::size_t i = 0; i < std::min(n, kPrefetchRows); ++i) ahead.Next();
    int level_row = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const int row = static_cast<int>(i);
      if (i + kPrefetchRows < n) s.item_index_.prefetch(base::AsAbsl(ahead.Next()));
      ItemState& item = s.items_[i];
      std::string_view sku_value = sku.Next();
      if (!s.item_index_.try_emplace(std::string(sku_value), static_cast<ItemIndex>(i)).second) {
        return Corrupt("item ", base::AsAbsl(sku_value), " interned twice");
      }
      item.sku = Sku(sku_value);
      item.created = c.created(row);
      ASSIGN_OR_RETURN(item.status, FromProtoItemStatus(c.status().Get(row)));
      item.name = name.Next();
      item.category = category.Next();
      item.reorder_point = c.reorder_point(row);
      item.reorder_quantity = c.reorder_quantity(row);
      item.attributes.resize(c.attribute_count(row));
      for (Attribute& a : item.attributes) {
        a.key = key.Next();
        a.value = value.Next();
      }
      for (std::uint32_t k = 0; k < c.level_count(row); ++k, ++level_row) {
        LevelEntry e;
        RETURN_IF_ERROR(WarehouseInRange(s, c.level_warehouse(level_row), "level"));
        e.warehouse = static_cast<WarehouseIndex>(c.level_warehouse(level_row));
        e.level = {.on_hand = c.level_on_hand(level_row),
                   .reserved = c.level_reserved(level_row),
                   .incoming = c.level_incoming(level_row)};
        RETURN_IF_ERROR(CheckLevel(item.sku, e.level));
        item.levels.push_back(e);
      }
    }
    return absl::OkStatus();
  }

  // The invariants Evolve keeps, checked again after reading back.
  static absl::Status CheckLevel(const Sku& sku, const StockLevel& l) {
    if (l.on_hand >= 0 && l.on_hand <= kStockMax && l.reserved >= 0 && l.reserved <= l.on_hand && l.incoming >= 0 &&
        l.incoming <= kStockMax) {
      return absl::OkStatus();
    }
    return Corrupt("level of ", sku.value(), " breaks an invariant: on_hand=", l.on_hand, " reserved=", l.reserved,
                   " incoming=", l.incoming);
  }

  static absl::Status WarehouseInRange(const State& s, std::uint32_t index, std::string_view what) {
    if (index < s.warehouses_.size()) return absl::OkStatus();
    return Corrupt(base::AsAbsl(what), " names warehouse #", index, " of ", s.warehouses_.size());
  }

  static absl::Status ItemInRange(const State& s, std::uint32_t index, std::string_view what) {
    if (index < s.items_.size()) return absl::OkStatus();
    return Corrupt(base::AsAbsl(what), " names item #", index, " of ", s.items_.size());
  }

  static void EncodeWarehouses(const State& s, pb::Snapshot& out) {
    for (const WarehouseState& w : s.warehouses_) {
      pb::Warehouse* p = out.add_warehouses();
      p->set_code(w.code.value());
      p->set_registered(w.registered);
      p->set_name(w.name);
      p->set_region(w.region);
      p->set_priority(w.priority);
      p->set_active(w.active);
    }
  }

  static absl::Status DecodeWarehouses(const pb::Snapshot& in, State& s) {
    constexpr std::size_t kIndexes = std::size_t{std::numeric_limits<WarehouseIndex>::max()} + 1;
    if (static_cast<std::size_t>(in.warehouses_size()) > kIndexes) {
      return Corrupt(in.warehouses_size(), " warehouses exceed the WarehouseIndex range");
    }
    s.warehouses_.reserve(static_cast<std::size_t>(in.warehouses_size()));
    for (const pb::Warehouse& p : in.warehouses()) {
      auto index = static_cast<WarehouseIndex>(s.warehouses_.size());
      if (!s.warehouse_index_.try_emplace(p.code(), index).second) {
        return Corrupt("warehouse ", p.code(), " interned twice");
      }
      WarehouseState& w = s.warehouses_.emplace_back();
      w.code = WarehouseCode(p.code());
      w.registered = p.registered();
      w.name = p.name();
      w.region = p.region();
      w.priority = p.priority();
      w.active = p.active();
    }
    return absl::OkStatus();
  }

  static void EncodeReservations(const State& s, pb::ReservationColumns& c) {
    const std::size_t n = s.reservations_.size();
    StringColumnWriter id(c.mutable_id(), n), order_id(c.mutable_order_id(), n);
    for (const auto& [key, r] : s.reservations_) {
      id.Add(key);
      order_id.Add(r.order_id.value());
      c.add_created_at_ms(EpochMs(r.created_at_ms));
      c.add_expires_at_ms(EpochMs(r.expires_at_ms));
      c.add_resolved_at_ms(EpochMs(r.resolved_at_ms));
      c.add_allocation_count(static_cast<std::uint32_t>(r.allocations.size()));
      for (const ReservationAllocation& a : r.allocations) {
        c.add_allocation_item(a.item);
        c.add_allocation_warehouse(a.warehouse);
        c.add_allocation_request_line(a.request_line);
        c.add_allocation_quantity(a.quantity);
        c.add_allocation_status(ToProto(a.status));
        c.add_allocation_present(a.present);
        c.add_allocation_released(a.released);
      }
    }
  }

  static absl::Status DecodeReservations(const pb::ReservationColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.id().lengths_size());
    const std::uint64_t allocation_rows = Sum(c.allocation_count());
    ASSIGN_OR_RETURN(StringColumnReader id, StringColumnReader::Open(c.id(), n, "reservations.id"));
    ASSIGN_OR_RETURN(StringColumnReader order_id, StringColumnReader::Open(c.order_id(), n, "reservations.order_id"));
    RETURN_IF_ERROR(ExpectRows(c.created_at_ms(), n, "reservations.created_at_ms"));
    RETURN_IF_ERROR(ExpectRows(c.expires_at_ms(), n, "reservations.expires_at_ms"));
    RETURN_IF_ERROR(ExpectRows(c.resolved_at_ms(), n, "reservations.resolved_at_ms"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_count(), n, "reservations.allocation_count"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_item(), allocation_rows, "reservations.allocation_item"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_warehouse(), allocation_rows, "reservations.allocation_warehouse"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_request_line(), allocation_rows, "reservations.allocation_request_line"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_quantity(), allocation_rows, "reservations.allocation_quantity"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_status(), allocation_rows, "reservations.allocation_status"));
    RETURN_IF_ERROR(ExpectRows(c.allocation_present(), allocation_rows, "reservations.allocation_present"));
    // Files before format version 3 have no released column: nothing released.
    const bool has_released = c.allocation_released_size() > 0;
    if (has_released) {
      RETURN_IF_ERROR(ExpectRows(c.allocation_released(), allocation_rows, "reservations.allocation_released"));
    }
    s.reservations_.reserve(n);
    int a_row = 0;
    for (int row = 0; row < static_cast<int>(n); ++row) {
      std::string_view key = id.Next();
      auto [it, inserted] = s.reservations_.try_emplace(std::string(key));
      if (!inserted) return Corrupt("reservation ", base::AsAbsl(key), " stored twice");
      ReservationState& r = it->second;
      r.id = ReservationId(key);
      r.order_id = OrderId(order_id.Next());
      r.created_at_ms = AtEpochMs(c.created_at_ms(row));
      r.expires_at_ms = AtEpochMs(c.expires_at_ms(row));
      r.resolved_at_ms = AtEpochMs(c.resolved_at_ms(row));
      const std::uint32_t count = c.allocation_count(row);
      if (count == 0 || count > kReservationAllocationsMax) {
        return Corrupt("reservation ", base::AsAbsl(key), " has ", count, " allocations");
      }
      r.allocations.resize(count);
      for (ReservationAllocation& a : r.allocations) {
        RETURN_IF_ERROR(ItemInRange(s, c.allocation_item(a_row), "allocation"));
        RETURN_IF_ERROR(WarehouseInRange(s, c.allocation_warehouse(a_row), "allocation"));
        a.item = c.allocation_item(a_row);
        a.warehouse = static_cast<WarehouseIndex>(c.allocation_warehouse(a_row));
        a.request_line = c.allocation_request_line(a_row);
        a.quantity = c.allocation_quantity(a_row);
        ASSIGN_OR_RETURN(a.status, FromProtoReservationStatus(c.allocation_status().Get(a_row)));
        a.present = c.allocation_present(a_row);
        a.released = has_released ? c.allocation_released(a_row) : 0;
        if (a.released < 0 || a.released > a.quantity ||
            (a.released != 0 && a.status != ReservationStatus::kCommitted)) {
          return Corrupt("reservation ", base::AsAbsl(key), " releases ", a.released, " of ", a.quantity,
                         " units while ", base::AsAbsl(ToString(a.status)));
        }
        ++a_row;
      }
    }
    return absl::OkStatus();
  }

  static void EncodeExpiry(const State& s, pb::ExpiryColumns& c) {
    StringColumnWriter id(c.mutable_reservation_id(), s.active_by_expiry_.size());
    c.mutable_expires_at_ms()->Reserve(static_cast<int>(s.active_by_expiry_.size()));
    for (const auto& [expires_at_ms, key] : s.active_by_expiry_) {
      c.add_expires_at_ms(EpochMs(expires_at_ms));
      id.Add(key);
    }
  }

  static absl::Status DecodeExpiry(const pb::ExpiryColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.expires_at_ms_size());
    ASSIGN_OR_RETURN(StringColumnReader id, StringColumnReader::Open(c.reservation_id(), n, "expiry.reservation_id"));
    for (int row = 0; row < static_cast<int>(n); ++row) {
      std::string_view key = id.Next();
      const TimeMs expires_at_ms = AtEpochMs(c.expires_at_ms(row));
      auto r = s.reservations_.find(base::AsAbsl(key));
      if (r == s.reservations_.end() || r->second.expires_at_ms != expires_at_ms) {
        return Corrupt("expiry index names reservation ", base::AsAbsl(key), " it does not hold");
      }
      std::size_t before = s.active_by_expiry_.size();
      // Written in set order, so each insert lands at the end.
      s.active_by_expiry_.insert(s.active_by_expiry_.end(), {expires_at_ms, std::string(key)});
      if (s.active_by_expiry_.size() == before) return Corrupt("expiry index holds ", base::AsAbsl(key), " twice");
    }
    return absl::OkStatus();
  }

  static void EncodeTransfers(const State& s, pb::TransferColumns& c) {
    StringColumnWriter id(c.mutable_id(), s.transfers_.size());
    for (const auto& [key, t] : s.transfers_) {
      id.Add(key);
      c.add_item(t.item);
      c.add_from_warehouse(t.from);
      c.add_to_warehouse(t.to);
      c.add_quantity(t.quantity);
      c.add_shipped(t.shipped);
      c.add_received(t.received);
      c.add_shipped_at_ms(EpochMs(t.shipped_at_ms));
    }
  }

  static absl::Status DecodeTransfers(const pb::TransferColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.id().lengths_size());
    ASSIGN_OR_RETURN(StringColumnReader id, StringColumnReader::Open(c.id(), n, "transfers.id"));
    RETURN_IF_ERROR(ExpectRows(c.item(), n, "transfers.item"));
    RETURN_IF_ERROR(ExpectRows(c.from_warehouse(), n, "transfers.from_warehouse"));
    RETURN_IF_ERROR(ExpectRows(c.to_warehouse(), n, "transfers.to_warehouse"));
    RETURN_IF_ERROR(ExpectRows(c.quantity(), n, "transfers.quantity"));
    RETURN_IF_ERROR(ExpectRows(c.shipped(), n, "transfers.shipped"));
    RETURN_IF_ERROR(ExpectRows(c.received(), n, "transfers.received"));
    RETURN_IF_ERROR(ExpectRows(c.shipped_at_ms(), n, "transfers.shipped_at_ms"));
    s.transfers_.reserve(n);
    for (int row = 0; row < static_cast<int>(n); ++row) {
      std::string_view key = id.Next();
      auto [it, inserted] = s.transfers_.try_emplace(std::string(key));
      if (!inserted) return Corrupt("transfer ", base::AsAbsl(key), " stored twice");
      RETURN_IF_ERROR(ItemInRange(s, c.item(row), "transfer"));
      RETURN_IF_ERROR(WarehouseInRange(s, c.from_warehouse(row), "transfer"));
      RETURN_IF_ERROR(WarehouseInRange(s, c.to_warehouse(row), "transfer"));
      TransferState& t = it->second;
      t.id = TransferId(key);
      t.item = c.item(row);
      t.from = static_cast<WarehouseIndex>(c.from_warehouse(row));
      t.to = static_cast<WarehouseIndex>(c.to_warehouse(row));
      t.quantity = c.quantity(row);
      t.shipped = c.shipped(row);
      t.received = c.received(row);
      t.shipped_at_ms = AtEpochMs(c.shipped_at_ms(row));
    }
    return absl::OkStatus();
  }

  // The map in its own order and the queue in its order: both sequential
  // walks (see CommandColumns in snapshot.proto for why not a join).
  static void EncodeCommands(const State& s, pb::CommandColumns& c) {
    INV_CHECK(s.commands_.size() == s.command_order_.size())
        << s.commands_.size() << " remembered commands but " << s.command_order_.size() << " queued";
    const std::size_t n = s.commands_.size();
    const int rows = static_cast<int>(n);
    std::size_t id_bytes = 0;
    for (const auto& entry : s.command_order_) id_bytes += entry.second.size();
    StringColumnWriter id(c.mutable_id(), n, id_bytes), queue_id(c.mutable_queue_id(), n, id_bytes);
    c.mutable_fingerprint()->Reserve(rows);
    c.mutable_applied_at_ms()->Reserve(rows);
    c.mutable_event_count()->Reserve(rows);
    c.mutable_queue_at_ms()->Reserve(rows);
    for (const auto& [key, record] : s.commands_) {
      id.Add(key);
      c.add_fingerprint(record.fingerprint);
      c.add_applied_at_ms(EpochMs(record.applied_at_ms));
      c.add_event_count(record.event_count);
    }
    for (const auto& [at_ms, key] : s.command_order_) {
      c.add_queue_at_ms(EpochMs(at_ms));
      queue_id.Add(key);
    }
  }

  static absl::Status DecodeCommands(const pb::CommandColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.id().lengths_size());
    ASSIGN_OR_RETURN(StringColumnReader id, StringColumnReader::Open(c.id(), n, "commands.id"));
    ASSIGN_OR_RETURN(StringColumnReader queue_id, StringColumnReader::Open(c.queue_id(), n, "commands.queue_id"));
    RETURN_IF_ERROR(ExpectRows(c.fingerprint(), n, "commands.fingerprint"));
    RETURN_IF_ERROR(ExpectRows(c.applied_at_ms(), n, "commands.applied_at_ms"));
    RETURN_IF_ERROR(ExpectRows(c.event_count(), n, "commands.event_count"));
    RETURN_IF_ERROR(ExpectRows(c.queue_at_ms(), n, "commands.queue_at_ms"));
    // The queue must hold exactly the map's ids. Compared as an order-free
    // sum of hashes, which needs no lookup per id.
    std::uint64_t map_ids = 0, queued_ids = 0;
    s.commands_.reserve(n);
    for (int row = 0; row < static_cast<int>(n); ++row) {
      std::string_view key = id.Next();
      map_ids += IdHash(key);
      CommandRecord record{.fingerprint = c.fingerprint(row),
                           .applied_at_ms = AtEpochMs(c.applied_at_ms(row)),
                           .event_count = c.event_count(row)};
      if (!s.commands_.try_emplace(std::string(key), record).second) {
        return Corrupt("command ", base::AsAbsl(key), " remembered twice");
      }
    }
    for (int row = 0; row < static_cast<int>(n); ++row) {
      std::string_view key = queue_id.Next();
      queued_ids += IdHash(key);
      s.command_order_.emplace_back(AtEpochMs(c.queue_at_ms(row)), std::string(key));
    }
    if (map_ids != queued_ids) return Corrupt("the command queue and the remembered commands disagree");
    return absl::OkStatus();
  }

  static std::uint64_t IdHash(std::string_view id) {
    StableHasher hasher;
    hasher.AddString(id);
    return hasher.Finish();
  }

  static void EncodeResolved(const State& s, pb::ResolvedColumns& c) {
    const std::size_t n = s.resolved_order_.size();
    StringColumnWriter id(c.mutable_id(), n);
    c.mutable_at_ms()->Reserve(static_cast<int>(n));
    c.mutable_kind()->Reserve(static_cast<int>(n));
    for (const State::Resolved& r : s.resolved_order_) {
      c.add_at_ms(EpochMs(r.at_ms));
      c.add_kind(r.kind == State::Resolved::Kind::kReservation ? pb::RESOLVED_KIND_RESERVATION
                                                                : pb::RESOLVED_KIND_TRANSFER);
      id.Add(r.id);
    }
  }

  static absl::Status DecodeResolved(const pb::ResolvedColumns& c, State& s) {
    const std::size_t n = static_cast<std::size_t>(c.at_ms_size());
    ASSIGN_OR_RETURN(StringColumnReader id, StringColumnReader::Open(c.id(), n, "resolved.id"));
    RETURN_IF_ERROR(ExpectRows(c.kind(), n, "resolved.kind"));
    for (int row = 0; row < static_cast<int>(n); ++row) {
      State::Resolved r;
      r.at_ms = AtEpochMs(c.at_ms(row));
      switch (c.kind().Get(row)) {
        case pb::RESOLVED_KIND_RESERVATION: r.kind = State::Resolved::Kind::kReservation; break;
        case pb::RESOLVED_KIND_TRANSFER: r.kind = State::Resolved::Kind::kTransfer; break;
        default: return Corrupt("unknown resolved kind ", c.kind().Get(row));
      }
      r.id = id.Next();
      s.resolved_order_.push_back(std::move(r));
    }
    return absl::OkStatus();
  }
};

absl::StatusOr<std::string> EncodeSnapshot(const State& state, std::span<const std::uint64_t> next_offsets) {
  pb::Snapshot snapshot;
  snapshot.mutable_next_offsets()->Add(next_offsets.begin(), next_offsets.end());
  SnapshotCodec::Encode(state, snapshot);
  const std::size_t body_bytes = snapshot.ByteSizeLong();
  if (body_bytes > static_cast<std::size_t>(INT_MAX)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("snapshot: body of ", body_bytes, " bytes exceeds protobuf's 2 GiB message limit"));
  }
  // Serialized straight behind the header's place, so the body is never copied.
  std::string out(kHeaderBytes + body_bytes, '\0');
  // ByteSizeLong above cached every size, so this serializes without recounting.
  snapshot.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data() + kHeaderBytes));
  WriteHeader(out, kSnapshotFormatVersion);
  return out;
}

std::string FrameSnapshot(std::string_view body, std::uint32_t version) {
  std::string out(kHeaderBytes, '\0');
  out.append(body);
  WriteHeader(out, version);
  return out;
}

namespace {

// The body of a snapshot file once its header and checksum hold.
absl::StatusOr<std::string_view> VerifiedBody(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes) return Corrupt("truncated: ", bytes.size(), " bytes, header needs ", kHeaderBytes);
  if (bytes.substr(0, kMagic.size()) != kMagic) return Corrupt("bad magic, not a snapshot file");
  const std::uint32_t version = base::DecodeFixed32(bytes.data() + 8);
  if ((version ^ base::DecodeFixed32(bytes.data() + 12)) != 0xffffffffu) return Corrupt("damaged header: version check");
  if (version > kSnapshotFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot: format version ", version,
                                                      " is newer than this build reads (", kSnapshotFormatVersion,
                                                      ")"));
  }
  if (version == 0) return Corrupt("format version 0 was never written");
  const std::uint64_t body_bytes = base::DecodeFixed64(bytes.data() + 16);
  const std::uint64_t present = bytes.size() - kHeaderBytes;
  if (body_bytes != present) {
    return Corrupt(present < body_bytes ? "truncated" : "trailing bytes", ": header says ", body_bytes,
                   " body bytes, file holds ", present);
  }
  std::string_view body = bytes.substr(kHeaderBytes);
  if (Checksum(version, body_bytes, body) != base::DecodeFixed64(bytes.data() + 24)) return Corrupt("checksum mismatch");
  if (body_bytes > static_cast<std::uint64_t>(INT_MAX)) return Corrupt("body exceeds 2 GiB");
  return body;
}

}  // namespace

absl::StatusOr<Snapshot> DecodeSnapshot(std::string_view bytes, LedgerOptions options) {
  ASSIGN_OR_RETURN(std::string_view body, VerifiedBody(bytes));
  pb::Snapshot snapshot;
  if (!snapshot.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Corrupt("body does not parse as inventory.internal.v1.Snapshot");
  }
  if (static_cast<std::size_t>(snapshot.next_offsets_size()) > base::kPartitionCountMax) {
    return Corrupt(snapshot.next_offsets_size(), " partitions exceed kPartitionCountMax");
  }
  Snapshot out{State(options),
               base::NextOffsets(std::vector<std::uint64_t>(snapshot.next_offsets().begin(), snapshot.next_offsets().end()))};
  RETURN_IF_ERROR(SnapshotCodec::Decode(snapshot, out.state));
  return out;
}

}  // namespace ledger
