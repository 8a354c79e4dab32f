// CheckAvailability's allocation over the read models agrees with the command
// side's ledger::Allocate: random ledgers are built with the real decide/evolve
// fold, copied into in-memory views, and random requests are asked of both.
#include "query-api/availability.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ledger/allocation.h"
#include "ledger/evolve.h"
#include "ledger/stock_rules.h"
#include "query-api/memory_views.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace query_api {
namespace {

namespace pb = inventory::v1;

class AgreementTest : public ::testing::Test {
 protected:
  bool Run(ledger::CommandBody body) {
    ledger::Command c;
    c.meta.command_id = ledger::CommandId("c" + std::to_string(++seq_));
    c.meta.now_ms = ledger::AtEpochMs(1'000'000);
    c.body = std::move(body);
    return ledger::DecideAndApply(state_, c).accepted();
  }

  // A random ledger: items, warehouses (some inactive), stock, reservations.
  void Build(std::mt19937& rng) {
    int warehouses = 1 + static_cast<int>(rng() % 5);
    int items = 1 + static_cast<int>(rng() % 4);
    for (int w = 0; w < warehouses; ++w) {
      ASSERT_TRUE(Run(ledger::RegisterWarehouse{.warehouse = ledger::WarehouseCode("W" + std::to_string(w)),
                                                .name = "w",
                                                .region = (rng() % 2) ? "eu" : "us",
                                                .priority = static_cast<int32_t>(rng() % 3)}));
    }
    for (int i = 0; i < items; ++i) {
      ASSERT_TRUE(Run(ledger::CreateItem{.sku = ledger::Sku("S" + std::to_string(i)), .name = "s"}));
    }
    for (int n = 0; n < 12; ++n) {
      Run(ledger::ReceiveStock{.sku = Sku(rng, items),
                               .warehouse = Wh(rng, warehouses),
                               .quantity = 1 + static_cast<int64_t>(rng() % 20)});
    }
    for (int n = 0; n < 3; ++n) {
      Run(ledger::Reserve{.reservation_id = ledger::ReservationId("r" + std::to_string(n)),
                          .order_id = ledger::OrderId("o"),
                          .lines = {ledger::ReserveLine{.sku = Sku(rng, items), .quantity = 1 + static_cast<int64_t>(rng() % 8)}}});
    }
    if (rng() % 3 == 0) Run(ledger::UpdateWarehouse{.warehouse = Wh(rng, warehouses), .active = false});
    if (rng() % 3 == 0) {
      Run(ledger::BlockSales{.sku = Sku(rng, items),
                             .warehouse = rng() % 3 == 0 ? ledger::WarehouseCode() : Wh(rng, warehouses),
                             .reason = "b"});
    }
    warehouses_ = warehouses;
    items_ = items;
  }

  static ledger::Sku Sku(std::mt19937& rng, int items) { return ledger::Sku("S" + std::to_string(rng() % items)); }
  static ledger::WarehouseCode Wh(std::mt19937& rng, int n) {
    return ledger::WarehouseCode("W" + std::to_string(rng() % n));
  }

  // The read models the projector would hold for state_.
  void CopyToViews(MemoryViews& views) const {
    views.Edit([this](MemoryData& d) {
      for (const ledger::WarehouseState& w : state_.warehouses()) {
        if (!w.registered) continue;
        pb::Warehouse& out = d.warehouses[w.code.value()];
        out.set_warehouse(w.code.value());
        out.set_region(w.region);
        out.set_priority(w.priority);
        out.set_active(w.active);
      }
      for (const ledger::ItemState& item : state_.items()) {
        pb::Item& out = d.items[item.sku.value()];
        out.set_sku(item.sku.value());
        out.set_status(item.status == ledger::ItemStatus::kActive ? pb::ITEM_STATUS_ACTIVE
                                                                  : pb::ITEM_STATUS_DISCONTINUED);
        for (const ledger::SalesBlock& b : item.sales_blocks) {
          pb::SalesBlock* block = out.add_sales_blocks();
          block->set_sku(item.sku.value());
          block->set_warehouse(b.warehouse.value());
          block->set_reason(b.reason);
        }
        for (const ledger::LevelEntry& e : item.levels) {
          const std::string& wh = state_.warehouse(e.warehouse).code.value();
          pb::StockLevel& l = d.levels[{item.sku.value(), wh}];
          l.set_sku(item.sku.value());
          l.set_warehouse(wh);
          l.set_on_hand(e.level.on_hand);
          l.set_reserved(e.level.reserved);
          l.set_available(e.level.available());
        }
      }
    });
  }

  ledger::State state_;
  int seq_ = 0;
  int warehouses_ = 0;
  int items_ = 0;
};

TEST_F(AgreementTest, RandomLedgersAndRequestsAgreeWithLedgerAllocate) {
  std::mt19937 rng(20261121);
  int compared = 0;
  int fulfilled = 0;
  int blocked = 0;
  for (int round = 0; round < 200; ++round) {
    state_ = ledger::State();
    Build(rng);
    MemoryViews views(1);
    CopyToViews(views);
    for (int q = 0; q < 10; ++q) {
      pb::CheckAvailabilityRequest req;
      std::vector<ledger::ReserveLine> lines;
      int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) {
        ledger::ReserveLine line{.sku = Sku(rng, items_), .quantity = 1 + static_cast<int64_t>(rng() % 25)};
        if (rng() % 4 == 0) line.warehouse = Wh(rng, warehouses_);
        pb::OrderLine* l = req.add_lines();
        l->set_sku(line.sku.value());
        l->set_quantity(line.quantity);
        l->set_warehouse(line.warehouse.value());
        lines.push_back(line);
      }
      req.set_allow_split(rng() % 2 == 0);
      if (rng() % 2) req.set_preferred_region(rng() % 2 ? "eu" : "us");
      ledger::AllocationResult want = ledger::Allocate(
          state_, lines, req.allow_split() ? ledger::SplitPolicy::kAllowSplit : ledger::SplitPolicy::kSingleWarehouse,
          req.preferred_region());
      pb::CheckAvailabilityResponse got;
      ASSERT_TRUE(FillAvailability(*views.NewSnapshot(), req, &got).ok());

      // A named inactive warehouse, and a line a sales block refuses (decide's
      // check before Allocate), are refused on top of Allocate.
      bool named_inactive = false;
      for (const auto& l : lines) {
        if (!l.warehouse.empty() && !state_.warehouse(l.warehouse)->active) named_inactive = true;
        if (ledger::SalesBlockOf(*state_.item(l.sku), l.warehouse) != nullptr) {
          named_inactive = true;
          ++blocked;
        }
      }
      EXPECT_EQ(got.can_fulfil(), want.ok && !named_inactive) << req.ShortDebugString();
      ASSERT_EQ(got.lines_size(), static_cast<int>(want.lines.size()));
      for (size_t i = 0; i < want.lines.size(); ++i) {
        EXPECT_EQ(got.lines(static_cast<int>(i)).available(), want.lines[i].available) << req.ShortDebugString();
        EXPECT_EQ(got.lines(static_cast<int>(i)).requested(), want.lines[i].requested);
      }
      if (want.ok && !named_inactive) {
        ++fulfilled;
        ASSERT_EQ(got.allocations_size(), static_cast<int>(want.picks.size())) << req.ShortDebugString();
        for (size_t i = 0; i < want.picks.size(); ++i) {
          const pb::Allocation& a = got.allocations(static_cast<int>(i));
          EXPECT_EQ(a.request_line(), want.picks[i].request_line);
          EXPECT_EQ(a.sku(), state_.item(want.picks[i].item).sku.value());
          EXPECT_EQ(a.warehouse(), state_.warehouse(want.picks[i].warehouse).code.value());
          EXPECT_EQ(a.quantity(), want.picks[i].quantity);
        }
      } else {
        EXPECT_EQ(got.allocations_size(), 0);
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 2000);
  EXPECT_GT(fulfilled, 200) << "the generator should produce many satisfiable requests";
  EXPECT_LT(fulfilled, 1800) << "and many unsatisfiable ones";
  EXPECT_GT(blocked, 50) << "and lines refused by a sales block";
}

TEST(AvailabilityTest, UnknownSkuAndWarehouseAreNotFoundNamingTheLine) {
  MemoryViews views(1);
  views.Edit([](MemoryData& d) { d.items["A"].set_sku("A"); });
  pb::CheckAvailabilityRequest req;
  req.add_lines()->set_sku("A");
  req.mutable_lines(0)->set_quantity(1);
  req.add_lines()->set_sku("B");
  req.mutable_lines(1)->set_quantity(1);
  pb::CheckAvailabilityResponse out;
  absl::Status st = FillAvailability(*views.NewSnapshot(), req, &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(st.message()).find("lines[1].sku"), std::string::npos) << st;

  req.mutable_lines(1)->set_sku("A");
  req.mutable_lines(1)->set_warehouse("NOPE");
  pb::CheckAvailabilityResponse out2;
  st = FillAvailability(*views.NewSnapshot(), req, &out2);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(st.message()).find("lines[1].warehouse"), std::string::npos) << st;
}

TEST(AvailabilityTest, DiscontinuedItemCannotBeFulfilled) {
  MemoryViews views(1);
  views.Edit([](MemoryData& d) {
    d.items["A"].set_sku("A");
    d.items["A"].set_status(pb::ITEM_STATUS_DISCONTINUED);
    d.warehouses["W"].set_warehouse("W");
    d.warehouses["W"].set_active(true);
    pb::StockLevel& l = d.levels[{"A", "W"}];
    l.set_sku("A");
    l.set_warehouse("W");
    l.set_on_hand(10);
  });
  pb::CheckAvailabilityRequest req;
  req.add_lines()->set_sku("A");
  req.mutable_lines(0)->set_quantity(5);
  pb::CheckAvailabilityResponse out;
  ASSERT_TRUE(FillAvailability(*views.NewSnapshot(), req, &out).ok());
  EXPECT_FALSE(out.can_fulfil());
  EXPECT_EQ(out.lines(0).available(), 5);
  EXPECT_EQ(out.allocations_size(), 0);
}

}  // namespace
}  // namespace query_api
