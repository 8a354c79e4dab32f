// The API edge: inventory.v1 requests become ledger commands, and ledger
// state becomes inventory.v1 responses. Shape problems the ledger cannot see
// (an unset oneof, an unspecified enum) are INVALID_ARGUMENT naming the
// field here; everything else is validated once, by ledger::Decide, and its
// field paths are renamed to the request's own (RequestFieldPath).
//
// Thread-safety: pure functions.
#ifndef COMMAND_API_TRANSLATE_H_
#define COMMAND_API_TRANSLATE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"
#include "ledger/command.h"
#include "eventlog/event_log.h"
#include "ledger/rejection.h"
#include "ledger/state.h"
#include "proto/command_service.pb.h"
#include "proto/rejection_metadata.h"

namespace command_api {

namespace pb = inventory::v1;

struct TranslateOptions {
  // TTL of a reservation that names none, ms. Default 15 minutes.
  ledger::DurationMs default_ttl_ms = std::chrono::minutes{15};
};

absl::StatusOr<ledger::Command> ToCommand(const pb::CreateItemRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::UpdateItemRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::DeleteItemRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::CreateWarehouseRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::UpdateWarehouseRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::AdjustInventoryRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::TransferInventoryRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::CheckAndReserveStockRequest& r, const TranslateOptions& o);
absl::StatusOr<ledger::Command> ToCommand(const pb::CommitReservationRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::ReleaseReservedStockRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::ExpireReservationRequest& r);  // ExpireWhen::kNow
absl::StatusOr<ledger::Command> ToCommand(const pb::ExtendReservationRequest& r, const TranslateOptions& o);
absl::StatusOr<ledger::Command> ToCommand(const pb::BlockSalesRequest& r);
absl::StatusOr<ledger::Command> ToCommand(const pb::UnblockSalesRequest& r);

// The reservation id a reserve request uses: its own, or the one derived from
// its command id (ledger::ReservationIdForCommand: "r-" + command_id, or
// "r-h:" + a hash of a command id too long for that).
std::string ReservationIdFor(const pb::CheckAndReserveStockRequest& r);

// Maps a ledger field path to the request's field path for `method`
// ("AdjustInventory": "delta" -> "adjust_delta"; "CreateItem": "sku" -> "item.sku").
std::string RequestFieldPath(std::string_view method, std::string_view ledger_field);

// A rejection as its proto (trailing metadata "inventory-rejection-bin").
pb::Rejection ToProto(const ledger::Rejection& rejection);
using inventory::v1::kRejectionMetadataKey;

void FillToken(const std::vector<eventlog::LogPosition>& positions, pb::ConsistencyToken* token);
void FillItem(const ledger::ItemState& item, pb::Item* out);  // with its sales blocks
void FillSalesBlock(const ledger::Sku& sku, const ledger::SalesBlock& block, pb::SalesBlock* out);
void FillWarehouse(const ledger::WarehouseState& w, pb::Warehouse* out);
void FillLevel(const ledger::State& state, const ledger::Sku& sku, const ledger::WarehouseCode& warehouse,
               pb::StockLevel* out);
void FillReservation(const ledger::State& state, const ledger::ReservationState& r, pb::Reservation* out);

}  // namespace command_api

#endif  // COMMAND_API_TRANSLATE_H_
