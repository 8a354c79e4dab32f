#include "query-api/availability.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/stock_rules.h"

namespace query_api {
namespace {

namespace pb = inventory::v1;

struct SkuInfo {
  bool active = true;
  std::shared_ptr<const pb::Item> item;  // its sales_blocks are the blocks in force
  std::map<std::string, int64_t, std::less<>> available;  // warehouse -> on_hand - reserved
};

// Everything one request reads, loaded once.
class Inputs {
 public:
  explicit Inputs(const projector::Snapshot& s) : s_(s) {}

  absl::Status LoadWarehouses() {
    return s_.ForEachWarehouse([this](const pb::Warehouse& w) {
      warehouses_.emplace(w.warehouse(), w);
      return true;
    });
  }
  const pb::Warehouse* warehouse(std::string_view code) const {
    auto it = warehouses_.find(code);
    return it == warehouses_.end() ? nullptr : &it->second;
  }
  // nullptr when the SKU is not an item.
  absl::StatusOr<const SkuInfo*> Sku(const std::string& sku) {
    if (auto it = skus_.find(sku); it != skus_.end()) return &it->second;
    absl::StatusOr<std::shared_ptr<const pb::Item>> item = s_.SharedItem(sku);
    if (!item.ok()) return item.status();
    if (*item == nullptr) return nullptr;
    SkuInfo info;
    info.active = (*item)->status() != pb::ITEM_STATUS_DISCONTINUED;
    info.item = std::move(*item);
    absl::Status st = s_.ForEachLevelOf(sku, [&info](const pb::StockLevel& l) {
      info.available[l.warehouse()] = l.on_hand() - l.reserved();
      return true;
    });
    if (!st.ok()) return st;
    return &skus_.emplace(sku, std::move(info)).first->second;
  }

 private:
  const projector::Snapshot& s_;
  std::map<std::string, pb::Warehouse, std::less<>> warehouses_;
  std::map<std::string, SkuInfo, std::less<>> skus_;
};

// ledger/stock_rules.h's rule over the item row's blocks.
const pb::SalesBlock* BlockOf(const SkuInfo& info, std::string_view warehouse) {
  return ledger::SalesBlockOf(info.item->sales_blocks(), warehouse, [](const pb::SalesBlock& b) -> std::string_view {
    return b.warehouse();
  });
}

// Units already taken by earlier lines, per (SKU, warehouse).
using Taken = std::map<std::pair<std::string, std::string>, int64_t>;

int64_t Used(const Taken& taken, const std::string& sku, const std::string& wh) {
  auto it = taken.find({sku, wh});
  return it == taken.end() ? 0 : it->second;
}

struct Candidate {
  const pb::Warehouse* warehouse;
  int64_t available;
};

std::vector<Candidate> Ranked(const Inputs& in, const std::string& sku, const SkuInfo& info, const Taken& taken,
                              int64_t needed, std::string_view region) {
  std::vector<Candidate> out;
  for (const auto& [code, available] : info.available) {
    const pb::Warehouse* w = in.warehouse(code);
    if (w == nullptr || !w->active()) continue;
    if (BlockOf(info, code) != nullptr) continue;
    int64_t left = available - Used(taken, sku, code);
    if (left > 0) out.push_back({w, left});
  }
  auto key = [&](const Candidate& c) {
    bool in_region = !region.empty() && c.warehouse->region() == region;
    return std::make_tuple(c.available < needed, c.warehouse->priority(), !in_region,
                           std::string_view(c.warehouse->warehouse()));
  };
  std::sort(out.begin(), out.end(), [&](const Candidate& a, const Candidate& b) { return key(a) < key(b); });
  return out;
}

void Pick(pb::CheckAvailabilityResponse* out, Taken& taken, uint32_t line, const std::string& sku,
          const std::string& wh, int64_t quantity) {
  pb::Allocation* a = out->add_allocations();
  a->set_request_line(line);
  a->set_sku(sku);
  a->set_warehouse(wh);
  a->set_quantity(quantity);
  taken[{sku, wh}] += quantity;
}

// A line without a named warehouse. Returns the most it could fill.
int64_t FillOpenLine(const Inputs& in, const pb::CheckAvailabilityRequest& req, uint32_t line, const SkuInfo& info,
                     Taken& taken, pb::CheckAvailabilityResponse* out) {
  const pb::OrderLine& l = req.lines(static_cast<int>(line));
  std::vector<Candidate> ranked = Ranked(in, l.sku(), info, taken, l.quantity(), req.preferred_region());
  if (!req.allow_split()) {
    if (ranked.empty()) return 0;
    if (ranked.front().available >= l.quantity()) {
      Pick(out, taken, line, l.sku(), ranked.front().warehouse->warehouse(), l.quantity());
      return l.quantity();
    }
    int64_t most = 0;
    for (const Candidate& c : ranked) most = std::max(most, c.available);
    return most;
  }
  int64_t total = 0;
  for (const Candidate& c : ranked) total += c.available;
  if (total < l.quantity()) return total;
  int64_t remaining = l.quantity();
  for (const Candidate& c : ranked) {
    if (remaining == 0) break;
    int64_t take = std::min(remaining, c.available);
    Pick(out, taken, line, l.sku(), c.warehouse->warehouse(), take);
    remaining -= take;
  }
  return l.quantity();
}

}  // namespace

namespace {

// One check over inputs already loaded (shared by the checks of a bulk call).
absl::Status FillOne(Inputs& in, const pb::CheckAvailabilityRequest& req, pb::CheckAvailabilityResponse* out) {
  Taken taken;
  bool all = true;
  for (int i = 0; i < req.lines_size(); ++i) {
    const pb::OrderLine& l = req.lines(i);
    auto line = static_cast<uint32_t>(i);
    ASSIGN_OR_RETURN(const SkuInfo* info, in.Sku(l.sku()));
    if (info == nullptr) return absl::NotFoundError(absl::StrCat("lines[", i, "].sku: unknown SKU ", l.sku()));
    int64_t fillable = 0;
    bool allowed = info->active;
    if (!l.warehouse().empty()) {
      const pb::Warehouse* w = in.warehouse(l.warehouse());
      if (w == nullptr) {
        return absl::NotFoundError(absl::StrCat("lines[", i, "].warehouse: unknown warehouse ", l.warehouse()));
      }
      allowed = allowed && w->active();
      auto it = info->available.find(l.warehouse());
      int64_t level = it == info->available.end() ? 0 : it->second;
      fillable = std::max<int64_t>(0, level - Used(taken, l.sku(), l.warehouse()));
      if (fillable >= l.quantity()) {
        Pick(out, taken, line, l.sku(), l.warehouse(), l.quantity());
        fillable = l.quantity();
      }
    } else {
      fillable = FillOpenLine(in, req, line, *info, taken, out);
    }
    const pb::SalesBlock* block = BlockOf(*info, l.warehouse());
    pb::LineAvailability* la = out->add_lines();
    if (block != nullptr) {
      allowed = false;
      la->set_sales_block(ledger::DescribeBlock(l.sku(), block->warehouse(), block->reason()));
    }
    la->set_line(line);
    la->set_sku(l.sku());
    la->set_requested(l.quantity());
    la->set_available(std::min(fillable, l.quantity()));
    la->set_can_fulfil(allowed && fillable >= l.quantity());
    all = all && la->can_fulfil();
  }
  out->set_can_fulfil(all);
  if (!all) out->clear_allocations();
  return absl::OkStatus();
}

}  // namespace

absl::Status FillAvailability(const projector::Snapshot& snapshot, const pb::CheckAvailabilityRequest& req,
                              pb::CheckAvailabilityResponse* out) {
  Inputs in(snapshot);
  RETURN_IF_ERROR(in.LoadWarehouses());
  return FillOne(in, req, out);
}

absl::Status FillAvailabilities(const projector::Snapshot& snapshot,
                                const google::protobuf::RepeatedPtrField<pb::CheckAvailabilityRequest>& checks,
                                google::protobuf::RepeatedPtrField<pb::CheckAvailabilityResponse>* out) {
  Inputs in(snapshot);
  RETURN_IF_ERROR(in.LoadWarehouses());
  out->Reserve(checks.size());
  for (const pb::CheckAvailabilityRequest& check : checks) RETURN_IF_ERROR(FillOne(in, check, out->Add()));
  return absl::OkStatus();
}

}  // namespace query_api
