// Command fingerprints: a stable hash of a command body's content. Each body
// type feeds its variant index and every field, in declaration order.
#include <variant>

#include "ledger/command.h"
#include "ledger/hash.h"

namespace ledger {
namespace {

class FingerprintVisitor {
 public:
  explicit FingerprintVisitor(StableHasher& h) : h_(h) {}

  void operator()(const CreateItem& c) {
    Str(c.sku.value());
    Str(c.name);
    Str(c.category);
    Attrs(c.attributes);
    Int(c.reorder_point);
    Int(c.reorder_quantity);
  }
  void operator()(const UpdateItem& c) {
    Str(c.sku.value());
    Opt(c.name);
    Opt(c.category);
    Int(c.attributes.has_value());
    if (c.attributes) Attrs(*c.attributes);
    Opt(c.reorder_point);
    Opt(c.reorder_quantity);
  }
  void operator()(const DiscontinueItem& c) { Str(c.sku.value()); }
  void operator()(const RegisterWarehouse& c) {
    Str(c.warehouse.value());
    Str(c.name);
    Str(c.region);
    Int(c.priority);
    Int(c.active);
  }
  void operator()(const UpdateWarehouse& c) {
    Str(c.warehouse.value());
    Opt(c.name);
    Opt(c.region);
    Opt(c.priority);
    Opt(c.active);
  }
  void operator()(const ReceiveStock& c) {
    Str(c.sku.value());
    Str(c.warehouse.value());
    Int(c.quantity);
    Str(c.reference);
  }
  void operator()(const AdjustStock& c) {
    Str(c.sku.value());
    Str(c.warehouse.value());
    Int(c.delta);
    Int(static_cast<std::int64_t>(c.reason));
    Str(c.reference);
    Expected(c.expected_on_hand);
  }
  void operator()(const CountStock& c) {
    Str(c.sku.value());
    Str(c.warehouse.value());
    Int(c.counted);
    Expected(c.expected_on_hand);
  }
  void operator()(const ShipTransfer& c) {
    Str(c.transfer_id.value());
    Str(c.sku.value());
    Str(c.from.value());
    Str(c.to.value());
    Int(c.quantity);
  }
  void operator()(const ReceiveTransfer& c) { Str(c.transfer_id.value()); }
  void operator()(const Reserve& c) {
    Str(c.reservation_id.value());
    Str(c.order_id.value());
    Int(static_cast<std::int64_t>(c.lines.size()));
    for (const ReserveLine& line : c.lines) {
      Str(line.sku.value());
      Int(line.quantity);
      Str(line.warehouse.value());
    }
    Int(c.ttl_ms.count());
    Int(static_cast<std::int64_t>(c.split));
    Str(c.preferred_region);
  }
  // Lines join only when given, so whole commits keep the fingerprints they
  // were remembered with.
  void operator()(const CommitReservation& c) {
    Str(c.reservation_id.value());
    if (c.lines.empty()) return;
    Int(static_cast<std::int64_t>(c.lines.size()));
    for (const CommitLine& line : c.lines) {
      Opt(line.request_line);
      Str(line.sku.value());
      Str(line.warehouse.value());
      Int(line.quantity);
    }
  }
  // if_committed is left out on purpose: it says how to treat a state, not
  // what is asked, and commands remembered before it existed (order
  // cancellations redelivered across an upgrade) must still match.
  void operator()(const ReleaseReservation& c) {
    Str(c.reservation_id.value());
    Int(static_cast<std::int64_t>(c.reason));
  }
  // `when` joins only when kNow, so the timer's expiries keep the
  // fingerprints they were remembered with.
  void operator()(const ExpireReservation& c) {
    Str(c.reservation_id.value());
    if (c.when == ExpireWhen::kNow) Int(1);
  }
  void operator()(const ExtendReservation& c) {
    Str(c.reservation_id.value());
    Int(c.ttl_ms.count());
  }
  void operator()(const BlockSales& c) {
    Str(c.sku.value());
    Str(c.warehouse.value());
    Str(c.reason);
  }
  void operator()(const UnblockSales& c) {
    Str(c.sku.value());
    Str(c.warehouse.value());
  }

 private:
  // An expectation joins only when given, so adjustments and counts
  // remembered before the field existed keep their fingerprints. Given, it is
  // part of what is asked: a retry under the same command id with another
  // expectation is a reused key, not a duplicate whose expectation held.
  void Expected(const std::optional<Quantity>& expected_on_hand) {
    if (!expected_on_hand) return;
    Int(1);
    Int(*expected_on_hand);
  }
  void Str(std::string_view s) { h_.AddString(s); }
  void Int(std::int64_t v) { h_.AddInt(v); }
  void Attrs(const Attributes& attributes) {
    Int(static_cast<std::int64_t>(attributes.size()));
    for (const Attribute& a : attributes) {
      Str(a.key);
      Str(a.value);
    }
  }
  template <typename T>
  void Opt(const std::optional<T>& v) {
    Int(v.has_value());
    if (!v) return;
    if constexpr (std::is_same_v<T, std::string>) {
      Str(*v);
    } else {
      Int(static_cast<std::int64_t>(*v));
    }
  }
  StableHasher& h_;
};

}  // namespace

std::uint64_t Fingerprint(const CommandBody& body) {
  StableHasher hasher(/*seed=*/0x66696e6765727072ULL);
  hasher.AddInt(static_cast<std::int64_t>(body.index()));
  std::visit(FingerprintVisitor(hasher), body);
  return hasher.Finish();
}

}  // namespace ledger
