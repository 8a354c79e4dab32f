// Unit tests for Allocate: ranking (fills, then priority, then preferred
// region, then code), splitting, per-line availability, skipped warehouses
// and tentative consumption across the lines of one request.
#include "ledger/allocation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/evolve.h"

// Commands are written with C++20 designated initializers, leaving the other
// members at their defaults on purpose; GCC's -Wextra would flag every one.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ledger {
namespace {

class AllocationTest : public ::testing::Test {
 protected:
  void Run(CommandBody body) {
    Command c;
    c.meta.command_id = CommandId("c" + std::to_string(++seq_));
    c.meta.now_ms = AtEpochMs(1'000'000);
    c.body = std::move(body);
    Decision d = DecideAndApply(state_, c);
    ASSERT_TRUE(d.accepted()) << d.rejection->message;
  }
  void Item(const std::string& sku) { Run(CreateItem{.sku = Sku(sku), .name = sku}); }
  void Warehouse(const std::string& code, std::int32_t priority, const std::string& region = "") {
    Run(RegisterWarehouse{.warehouse = WarehouseCode(code), .name = code, .region = region, .priority = priority});
  }
  void Receive(const std::string& sku, const std::string& wh, Quantity quantity) {
    Run(ReceiveStock{.sku = Sku(sku), .warehouse = WarehouseCode(wh), .quantity = quantity});
  }
  void Deactivate(const std::string& wh) { Run(UpdateWarehouse{.warehouse = WarehouseCode(wh), .active = false}); }

  static ReserveLine L(const std::string& sku, Quantity quantity, const std::string& wh = "") {
    return ReserveLine{.sku = Sku(sku), .quantity = quantity, .warehouse = WarehouseCode(wh)};
  }

  AllocationResult Alloc(const std::vector<ReserveLine>& lines, SplitPolicy split = SplitPolicy::kSingleWarehouse,
                         std::string_view region = "") const {
    State before = state_;
    AllocationResult r = Allocate(state_, lines, split, region);
    EXPECT_TRUE(state_ == before);
    EXPECT_EQ(r.lines.size(), lines.size()) << "every request line is reported";
    for (std::size_t i = 0; i < r.lines.size() && i < lines.size(); ++i) {
      EXPECT_EQ(r.lines[i].line, i);
      EXPECT_EQ(r.lines[i].sku, lines[i].sku);
      EXPECT_EQ(r.lines[i].requested, lines[i].quantity);
      EXPECT_LE(r.lines[i].available, lines[i].quantity);
      EXPECT_GE(r.lines[i].available, 0);
    }
    if (!r.ok) {
      EXPECT_TRUE(r.picks.empty()) << "a failed allocation picks nothing";
    }
    return r;
  }

  // A pick as (line, sku, warehouse, quantity), for readable comparisons.
  struct P {
    std::uint32_t line;
    std::string sku;
    std::string warehouse;
    Quantity quantity;
    friend bool operator==(const P&, const P&) = default;
    friend std::ostream& operator<<(std::ostream& os, const P& p) {
      return os << "{line " << p.line << ", " << p.sku << "@" << p.warehouse << " x" << p.quantity << "}";
    }
  };
  std::vector<P> Picks(const AllocationResult& r) const {
    std::vector<P> out;
    for (const AllocationPick& p : r.picks) {
      out.push_back({p.request_line, state_.item(p.item).sku.value(), state_.warehouse(p.warehouse).code.value(),
                     p.quantity});
    }
    return out;
  }

  State state_;
  int seq_ = 0;
};

// ---------------------------------------------------------------- ranking

TEST_F(AllocationTest, AWarehouseThatCanFillBeatsABetterPriority) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 50);
  Receive("A", "W1", 4);
  Receive("A", "W2", 5);
  AllocationResult r = Alloc({L("A", 5)});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W2", 5}}));
  EXPECT_EQ(r.lines[0].available, 5);
}

TEST_F(AllocationTest, AmongFillersLowerPriorityNumberWins) {
  Item("A");
  Warehouse("W1", 30);
  Warehouse("W2", 20);
  Warehouse("W3", 40);
  Receive("A", "W1", 10);
  Receive("A", "W2", 10);
  Receive("A", "W3", 10);
  AllocationResult r = Alloc({L("A", 10)});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W2", 10}}));
}

TEST_F(AllocationTest, PriorityComesBeforePreferredRegion) {
  Item("A");
  Warehouse("W1", 10, "us");
  Warehouse("W2", 5, "eu");
  Receive("A", "W1", 10);
  Receive("A", "W2", 10);
  EXPECT_EQ(Picks(Alloc({L("A", 1)}, SplitPolicy::kSingleWarehouse, "us")), (std::vector<P>{{0, "A", "W2", 1}}));
}

TEST_F(AllocationTest, AmongEqualPriorityPreferredRegionWins) {
  Item("A");
  Warehouse("W1", 10, "us");
  Warehouse("W2", 10, "eu");
  Receive("A", "W1", 10);
  Receive("A", "W2", 10);
  EXPECT_EQ(Picks(Alloc({L("A", 1)}, SplitPolicy::kSingleWarehouse, "eu")), (std::vector<P>{{0, "A", "W2", 1}}));
  EXPECT_EQ(Picks(Alloc({L("A", 1)}, SplitPolicy::kSingleWarehouse, "us")), (std::vector<P>{{0, "A", "W1", 1}}));
}

TEST_F(AllocationTest, RemainingTiesGoByCode) {
  Item("A");
  // Registered (and stocked) in reverse code order, so interning order differs from code order.
  Warehouse("W-b", 10, "x");
  Warehouse("W-a", 10, "y");
  Receive("A", "W-b", 10);
  Receive("A", "W-a", 10);
  EXPECT_EQ(Picks(Alloc({L("A", 1)})), (std::vector<P>{{0, "A", "W-a", 1}}));
  // A region nobody is in does not change the order.
  EXPECT_EQ(Picks(Alloc({L("A", 1)}, SplitPolicy::kSingleWarehouse, "z")), (std::vector<P>{{0, "A", "W-a", 1}}));
}

TEST_F(AllocationTest, EmptyPreferredRegionMatchesNoWarehouse) {
  Item("A");
  Warehouse("W-b", 10, "");   // empty region
  Warehouse("W-a", 10, "eu");
  Receive("A", "W-b", 10);
  Receive("A", "W-a", 10);
  EXPECT_EQ(Picks(Alloc({L("A", 1)}, SplitPolicy::kSingleWarehouse, "")), (std::vector<P>{{0, "A", "W-a", 1}}));
}

TEST_F(AllocationTest, NamedWarehouseTakesOnlyFromIt) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 10);
  Receive("A", "W2", 3);
  AllocationResult ok = Alloc({L("A", 3, "W2")});
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(Picks(ok), (std::vector<P>{{0, "A", "W2", 3}}));
  AllocationResult short_of = Alloc({L("A", 4, "W2")}, SplitPolicy::kAllowSplit);
  EXPECT_FALSE(short_of.ok);
  EXPECT_EQ(short_of.lines[0], (LineAvailability{0, Sku("A"), 4, 3}));
}

TEST_F(AllocationTest, NamedWarehouseThatNeverHeldTheSkuHasNothing) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 10);
  AllocationResult r = Alloc({L("A", 1, "W2")});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0].available, 0);
}

// ---------------------------------------------------------------- single vs split

TEST_F(AllocationTest, SingleWarehouseReportsTheBestSingleWarehouse) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Warehouse("W3", 3);
  Receive("A", "W1", 3);
  Receive("A", "W2", 6);
  Receive("A", "W3", 4);
  AllocationResult r = Alloc({L("A", 10)});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.picks.empty());
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 10, 6}));
}

TEST_F(AllocationTest, SplitFillsGreedilyInRankOrder) {
  Item("A");
  Warehouse("W1", 1, "us");
  Warehouse("W2", 2, "us");
  Warehouse("W3", 2, "eu");
  Warehouse("W4", 9, "eu");
  Receive("A", "W1", 3);
  Receive("A", "W2", 6);
  Receive("A", "W3", 4);
  Receive("A", "W4", 100);
  AllocationResult r = Alloc({L("A", 10)}, SplitPolicy::kAllowSplit, "eu");
  ASSERT_TRUE(r.ok);
  // W4 alone can fill the line, so it ranks first and takes all of it.
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W4", 10}}));

  AllocationResult split = Alloc({L("A", 110)}, SplitPolicy::kAllowSplit, "eu");
  ASSERT_TRUE(split.ok);
  // Nobody fills 110: priority 1, then priority 2 in eu before us, then priority 9.
  EXPECT_EQ(Picks(split), (std::vector<P>{{0, "A", "W1", 3}, {0, "A", "W3", 4}, {0, "A", "W2", 6},
                                          {0, "A", "W4", 97}}));
  EXPECT_EQ(split.lines[0], (LineAvailability{0, Sku("A"), 110, 110}));
}

TEST_F(AllocationTest, SplitStopsOnceTheLineIsFilled) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Warehouse("W3", 3);
  Receive("A", "W1", 3);
  Receive("A", "W2", 3);
  Receive("A", "W3", 3);
  AllocationResult r = Alloc({L("A", 5)}, SplitPolicy::kAllowSplit);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W1", 3}, {0, "A", "W2", 2}}));
}

TEST_F(AllocationTest, SplitShortReportsTheTotal) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 3);
  Receive("A", "W2", 4);
  AllocationResult r = Alloc({L("A", 8)}, SplitPolicy::kAllowSplit);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0], (LineAvailability{0, Sku("A"), 8, 7}));
}

TEST_F(AllocationTest, AvailabilityIsCappedAtTheRequest) {
  Item("A");
  Warehouse("W1", 1);
  Receive("A", "W1", 1000);
  AllocationResult r = Alloc({L("A", 5)});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.lines[0].available, 5);
  AllocationResult named = Alloc({L("A", 5, "W1")});
  EXPECT_EQ(named.lines[0].available, 5);
}

TEST_F(AllocationTest, NoStockAnywhere) {
  Item("A");
  Warehouse("W1", 1);
  for (SplitPolicy split : {SplitPolicy::kSingleWarehouse, SplitPolicy::kAllowSplit}) {
    AllocationResult r = Alloc({L("A", 1)}, split);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.lines[0].available, 0);
  }
}

// ---------------------------------------------------------------- what counts as available

TEST_F(AllocationTest, ReservedStockIsNotAvailable) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 10);
  Receive("A", "W2", 10);
  Run(Reserve{.reservation_id = ReservationId("R0"), .lines = {L("A", 8, "W1")}});
  // W1 has 2 available: the line of 5 goes to W2 although W1 has priority.
  EXPECT_EQ(Picks(Alloc({L("A", 5)})), (std::vector<P>{{0, "A", "W2", 5}}));
  AllocationResult r = Alloc({L("A", 3, "W1")});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0].available, 2);
  EXPECT_EQ(Alloc({L("A", 13)}, SplitPolicy::kAllowSplit).lines[0].available, 12);
}

TEST_F(AllocationTest, InactiveWarehousesAreSkipped) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 10);
  Receive("A", "W2", 4);
  Deactivate("W1");
  AllocationResult single = Alloc({L("A", 5)});
  EXPECT_FALSE(single.ok);
  EXPECT_EQ(single.lines[0].available, 4);
  AllocationResult split = Alloc({L("A", 5)}, SplitPolicy::kAllowSplit);
  EXPECT_FALSE(split.ok);
  EXPECT_EQ(split.lines[0].available, 4);
  EXPECT_EQ(Picks(Alloc({L("A", 4)})), (std::vector<P>{{0, "A", "W2", 4}}));
  Run(UpdateWarehouse{.warehouse = WarehouseCode("W1"), .active = true});
  EXPECT_EQ(Picks(Alloc({L("A", 5)})), (std::vector<P>{{0, "A", "W1", 5}}));
}

TEST_F(AllocationTest, UnregisteredWarehousesAreSkipped) {
  Item("A");
  Warehouse("W1", 1);
  Receive("A", "W1", 2);
  // Stock folded for a warehouse whose registration has not been folded yet.
  Event e;
  e.envelope.event_id = EventId{1, 2};
  e.envelope.occurred_at_ms = AtEpochMs(1'000'000);
  e.envelope.sku = Sku("A");
  e.payload = StockReceived{.warehouse = WarehouseCode("GHOST"), .quantity = 100};
  ASSERT_TRUE(Evolve(state_, e).ok());
  ASSERT_EQ(state_.Level(Sku("A"), WarehouseCode("GHOST")).on_hand, 100);
  AllocationResult r = Alloc({L("A", 5)}, SplitPolicy::kAllowSplit);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0].available, 2);
}

TEST_F(AllocationTest, OtherSkusStockDoesNotCount) {
  Item("A");
  Item("B");
  Warehouse("W1", 1);
  Receive("B", "W1", 10);
  AllocationResult r = Alloc({L("A", 1), L("B", 10)});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0].available, 0);
  EXPECT_EQ(r.lines[1].available, 10);
}

// ---------------------------------------------------------------- tentative consumption

TEST_F(AllocationTest, TwoOpenLinesOfOneSkuDoNotDoubleCount) {
  Item("A");
  Warehouse("W1", 1);
  Receive("A", "W1", 10);
  AllocationResult r = Alloc({L("A", 6), L("A", 6)});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0].available, 6);
  EXPECT_EQ(r.lines[1].available, 4);
  AllocationResult fits = Alloc({L("A", 6), L("A", 4)});
  ASSERT_TRUE(fits.ok);
  EXPECT_EQ(Picks(fits), (std::vector<P>{{0, "A", "W1", 6}, {1, "A", "W1", 4}}));
}

TEST_F(AllocationTest, NamedAndOpenLinesShareTheTentativeCount) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 10);
  Receive("A", "W2", 10);
  // A named line takes 8 at W1; the open line then prefers W2, which can fill.
  AllocationResult r = Alloc({L("A", 8, "W1"), L("A", 5)});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W1", 8}, {1, "A", "W2", 5}}));
  // An open line first, then a named line: it sees what the open line took.
  AllocationResult after = Alloc({L("A", 8), L("A", 3, "W1")});
  EXPECT_FALSE(after.ok);
  EXPECT_EQ(after.lines[1].available, 2);
  // Three named lines at one warehouse add up.
  AllocationResult three = Alloc({L("A", 4, "W1"), L("A", 4, "W1"), L("A", 4, "W1")});
  EXPECT_FALSE(three.ok);
  EXPECT_EQ(three.lines[2].available, 2);
}

TEST_F(AllocationTest, SplitLinesConsumeAcrossWarehouses) {
  Item("A");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Warehouse("W3", 3);
  Receive("A", "W1", 5);
  Receive("A", "W2", 5);
  Receive("A", "W3", 5);
  AllocationResult r = Alloc({L("A", 7), L("A", 7), L("A", 1)}, SplitPolicy::kAllowSplit);
  ASSERT_TRUE(r.ok);
  // Line 0: nobody fills 7, so W1 5 + W2 2. Line 1: W1 is used up, W2 has 3
  // left and W3 5, so W2 3 + W3 4. Line 2: W3's last unit.
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W1", 5},
                                      {0, "A", "W2", 2},
                                      {1, "A", "W2", 3},
                                      {1, "A", "W3", 4},
                                      {2, "A", "W3", 1}}));
  AllocationResult over = Alloc({L("A", 7), L("A", 7), L("A", 2)}, SplitPolicy::kAllowSplit);
  EXPECT_FALSE(over.ok);
  EXPECT_EQ(over.lines[2], (LineAvailability{2, Sku("A"), 2, 1}));
}

TEST_F(AllocationTest, AShortLineTakesNothingFromLaterLines) {
  Item("A");
  Warehouse("W1", 1);
  Receive("A", "W1", 10);
  AllocationResult r = Alloc({L("A", 20), L("A", 10)});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0].available, 10);
  EXPECT_EQ(r.lines[1].available, 10);
}

TEST_F(AllocationTest, LinesOfDifferentSkusAreIndependent) {
  Item("A");
  Item("B");
  Warehouse("W1", 1);
  Warehouse("W2", 2);
  Receive("A", "W1", 5);
  Receive("B", "W1", 5);
  Receive("B", "W2", 5);
  AllocationResult r = Alloc({L("A", 5), L("B", 5), L("B", 5)});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Picks(r), (std::vector<P>{{0, "A", "W1", 5}, {1, "B", "W1", 5}, {2, "B", "W2", 5}}));
}

}  // namespace
}  // namespace ledger
