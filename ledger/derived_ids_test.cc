#include "ledger/derived_ids.h"

#include <string>

#include "gtest/gtest.h"
#include "ledger/validate.h"

namespace ledger {
namespace {

// The hashed forms are stored and published: these values were produced by
// the derivations before they moved here, and must never change.
TEST(DerivedIds, ReservationIdIsPlainUpToTheLimitThenHashed) {
  EXPECT_EQ(ReservationIdForCommand(CommandId("cmd-11")).value(), "r-cmd-11");
  const std::string fits(kIdLengthMax - 2, 'x');
  EXPECT_EQ(ReservationIdForCommand(CommandId(fits)).value(), "r-" + fits);
  const std::string too_long(kIdLengthMax - 1, 'x');
  EXPECT_EQ(ReservationIdForCommand(CommandId(too_long)).value(), "r-h:57e3099d5fd04814fd4ca5de9454fcce");
  EXPECT_EQ(ReservationIdForOrder(OrderId(too_long)), ReservationIdForCommand(CommandId(too_long)));
  EXPECT_EQ(ReservationIdForOrder(OrderId("o-1")).value(), "r-o-1");
}

TEST(DerivedIds, OrderStepCommandIdHashesOnlyTheOrderId) {
  EXPECT_EQ(OrderStepCommandId(OrderId("o-1"), "").value(), "o-1");
  EXPECT_EQ(OrderStepCommandId(OrderId("o-1"), "/commit").value(), "o-1/commit");
  const CommandId hashed = OrderStepCommandId(OrderId(std::string(kIdLengthMax, 'z')), "/commit");
  EXPECT_EQ(hashed.value(), "h:ac70b4fd2f2b236b822752dfa17e28fd/commit");
  EXPECT_LE(hashed.value().size(), kIdLengthMax);
  // Different steps of one long order stay distinct.
  EXPECT_NE(hashed, OrderStepCommandId(OrderId(std::string(kIdLengthMax, 'z')), "/cancel"));
}

TEST(DerivedIds, ExpireCommandId) {
  EXPECT_EQ(ExpireCommandId(ReservationId("r-1")).value(), "expire/r-1");
  const std::string fits(kIdLengthMax - 7, 'e');
  EXPECT_EQ(ExpireCommandId(ReservationId(fits)).value(), "expire/" + fits);
  EXPECT_EQ(ExpireCommandId(ReservationId(fits + "e")).value(), "expire/h:15c19af231177d5ae86111a051fa886e");
}

TEST(DerivedIds, EventIdDependsOnCommandTimeAndIndex) {
  const EventId id = EventIdFor(CommandId("cmd-1"), AtEpochMs(1000), 2);
  EXPECT_EQ(id.ToHex(), "83fd07e85cb01dac25eda3022602e6f5");
  EXPECT_NE(id, EventIdFor(CommandId("cmd-1"), AtEpochMs(1000), 1));
  EXPECT_NE(id, EventIdFor(CommandId("cmd-1"), AtEpochMs(1001), 2));
  EXPECT_NE(id, EventIdFor(CommandId("cmd-2"), AtEpochMs(1000), 2));
}

TEST(DerivedIds, PublicEventIds) {
  const EventId source{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(AlertEventId(source, "inventory.low_stock"), "7f4cbe8d9010e5dbf6173b374ed19118");
  EXPECT_NE(AlertEventId(source, "inventory.low_stock"), AlertEventId(source, "inventory.out_of_stock"));
  EXPECT_EQ(ReservationFailedEventId("e-1"), "e3996a53a225624cf2d2c60550fa2aff");
  EXPECT_EQ(HashedIdHex("reservation_failed/e-1", kPublicEventIdSeeds), ReservationFailedEventId("e-1"));
}

}  // namespace
}  // namespace ledger
