#include "ledger/allocation.h"

#include <algorithm>

#include "base/check.h"
#include "ledger/stock_rules.h"

namespace ledger {
namespace {

// Units already taken by earlier lines of the same request, per (item, warehouse).
class Tentative {
 public:
  Quantity Used(ItemIndex item, WarehouseIndex warehouse) const {
    for (const AllocationPick& p : picks_) {
      if (p.item == item && p.warehouse == warehouse) return p.quantity;
    }
    return 0;
  }
  void Take(ItemIndex item, WarehouseIndex warehouse, Quantity quantity) {
    for (AllocationPick& p : picks_) {
      if (p.item == item && p.warehouse == warehouse) {
        p.quantity += quantity;
        return;
      }
    }
    picks_.push_back({0, item, warehouse, quantity});
  }

 private:
  std::vector<AllocationPick> picks_;  // request_line unused here
};

struct Candidate {
  WarehouseIndex warehouse = 0;
  Quantity available = 0;  // after earlier lines' picks
};

std::vector<Candidate> Candidates(const State& state, ItemIndex item, const Tentative& taken) {
  std::vector<Candidate> out;
  const ItemState& item_state = state.item(item);
  for (const LevelEntry& entry : item_state.levels) {
    const WarehouseState& w = state.warehouse(entry.warehouse);
    if (!w.registered || !w.active) continue;
    if (SalesBlockOf(item_state, w.code) != nullptr) continue;
    Quantity available = entry.level.available() - taken.Used(item, entry.warehouse);
    if (available > 0) out.push_back({entry.warehouse, available});
  }
  return out;
}

void Rank(const State& state, std::vector<Candidate>& candidates, Quantity needed, std::string_view region) {
  auto key = [&](const Candidate& c) {
    const WarehouseState& w = state.warehouse(c.warehouse);
    bool fills = c.available >= needed;
    bool in_region = !region.empty() && w.region == region;
    return std::make_tuple(!fills, w.priority, !in_region, std::string_view(w.code.value()));
  };
  std::sort(candidates.begin(), candidates.end(),
            [&](const Candidate& a, const Candidate& b) { return key(a) < key(b); });
}

// Fills one line without a named warehouse. Returns the most it could fill.
Quantity FillOpenLine(const State& state, std::uint32_t line_index, ItemIndex item, Quantity needed,
                      SplitPolicy split, std::string_view region, Tentative& taken,
                      std::vector<AllocationPick>& picks) {
  std::vector<Candidate> candidates = Candidates(state, item, taken);
  Rank(state, candidates, needed, region);
  if (split == SplitPolicy::kSingleWarehouse) {
    if (candidates.empty()) return 0;
    // Ranked first: a warehouse that fills the line, if any.
    const Candidate& best = candidates.front();
    if (best.available >= needed) {
      picks.push_back({line_index, item, best.warehouse, needed});
      taken.Take(item, best.warehouse, needed);
      return needed;
    }
    Quantity most = 0;
    for (const Candidate& c : candidates) most = std::max(most, c.available);
    return most;
  }
  Quantity total = 0;
  for (const Candidate& c : candidates) total += c.available;
  if (total < needed) return total;
  Quantity remaining = needed;
  for (const Candidate& c : candidates) {
    if (remaining == 0) break;
    Quantity take = std::min(remaining, c.available);
    picks.push_back({line_index, item, c.warehouse, take});
    taken.Take(item, c.warehouse, take);
    remaining -= take;
  }
  return needed;
}

}  // namespace

AllocationResult Allocate(const State& state, const std::vector<ReserveLine>& lines, SplitPolicy split,
                          std::string_view preferred_region) {
  AllocationResult result;
  result.ok = true;
  result.lines.reserve(lines.size());
  Tentative taken;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const ReserveLine& line = lines[i];
    auto line_index = static_cast<std::uint32_t>(i);
    std::optional<ItemIndex> item = state.FindItem(line.sku);
    INV_CHECK(item.has_value()) << "Allocate requires known SKUs: " << line.sku;
    Quantity fillable = 0;
    if (!line.warehouse.empty()) {
      std::optional<WarehouseIndex> w = state.FindWarehouse(line.warehouse);
      INV_CHECK(w.has_value()) << "Allocate requires known warehouses: " << line.warehouse;
      fillable = std::max<Quantity>(0, state.Level(*item, *w).available() - taken.Used(*item, *w));
      if (fillable >= line.quantity) {
        result.picks.push_back({line_index, *item, *w, line.quantity});
        taken.Take(*item, *w, line.quantity);
        fillable = line.quantity;
      }
    } else {
      fillable = FillOpenLine(state, line_index, *item, line.quantity, split, preferred_region, taken, result.picks);
    }
    if (fillable < line.quantity) result.ok = false;
    result.lines.push_back({line_index, line.sku, line.quantity, std::min(fillable, line.quantity)});
  }
  if (!result.ok) result.picks.clear();
  return result;
}

}  // namespace ledger
