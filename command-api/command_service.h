// inventory.v1.CommandService over the single writer, on gRPC's callback API.
//
// Each unary call translates its request to a ledger command and submits it;
// nothing blocks in the handler. The writer answers once the command's events
// are durable (or the command is refused), and the completion fills the
// response from the writer's state and finishes the call. A refusal travels as
// the gRPC status (code by BRIEF.md decision 8) plus an inventory.v1.Rejection
// in trailing metadata "inventory-rejection-bin" (per-line availability).
//
// Bulk calls (BulkReserveStock, BulkCreateItems, BulkUpdateItems) submit their
// commands together and answer one result per entry, in request order; entry
// i of a bulk create/update uses command id "<context.command_id>/<i>".
//
// ReserveStream is the pipelined form of CheckAndReserveStock: one
// reservation per request message, each with its own command id, answered
// in request order on the same stream (answers ready together share a
// message). A request refused before the writer (shape, rate limit, a full
// queue) is answered in its place with that code; the stream goes on.
//
// Thread-safety: gRPC calls the service from its own threads.
#ifndef COMMAND_API_COMMAND_SERVICE_H_
#define COMMAND_API_COMMAND_SERVICE_H_

#include "auth/grpc_gate.h"
#include "command-api/translate.h"
#include "command-api/writer.h"
#include "proto/command_service.grpc.pb.h"

namespace command_api {

struct CommandServiceOptions {
  TranslateOptions translate;
  // Most entries in one bulk call. Default 1000.
  int bulk_entries_max = 1000;
  // ReserveStream: most requests of one stream read but not yet answered on
  // it; beyond this the stream is not read until answers are written. At
  // most queue_commands_max / stream_window streams can each fill their
  // window before the writer's queue refuses. Default 2048.
  int stream_window = 2048;
  // Authenticates and authorises every call (auth/grpc_gate.h); the actor
  // recorded in events is then the principal, not context.actor. Null: no
  // authentication, context.actor is recorded. Default null. REQUIRES: outlives the service.
  auth::Authenticator* authenticator = nullptr;
};

class CommandServiceImpl final : public pb::CommandService::CallbackService {
 public:
  // REQUIRES: writer outlives the service.
  CommandServiceImpl(Writer* writer, CommandServiceOptions options = {});

  grpc::ServerUnaryReactor* CreateItem(grpc::CallbackServerContext* ctx, const pb::CreateItemRequest* req,
                                       pb::CreateItemResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateItem(grpc::CallbackServerContext* ctx, const pb::UpdateItemRequest* req,
                                       pb::UpdateItemResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteItem(grpc::CallbackServerContext* ctx, const pb::DeleteItemRequest* req,
                                       pb::DeleteItemResponse* resp) override;
  grpc::ServerUnaryReactor* BulkCreateItems(grpc::CallbackServerContext* ctx, const pb::BulkCreateItemsRequest* req,
                                            pb::BulkCreateItemsResponse* resp) override;
  grpc::ServerUnaryReactor* BulkUpdateItems(grpc::CallbackServerContext* ctx, const pb::BulkUpdateItemsRequest* req,
                                            pb::BulkUpdateItemsResponse* resp) override;
  grpc::ServerUnaryReactor* CreateWarehouse(grpc::CallbackServerContext* ctx, const pb::CreateWarehouseRequest* req,
                                            pb::CreateWarehouseResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateWarehouse(grpc::CallbackServerContext* ctx, const pb::UpdateWarehouseRequest* req,
                                            pb::UpdateWarehouseResponse* resp) override;
  grpc::ServerUnaryReactor* AdjustInventory(grpc::CallbackServerContext* ctx, const pb::AdjustInventoryRequest* req,
                                            pb::AdjustInventoryResponse* resp) override;
  grpc::ServerUnaryReactor* TransferInventory(grpc::CallbackServerContext* ctx,
                                              const pb::TransferInventoryRequest* req,
                                              pb::TransferInventoryResponse* resp) override;
  grpc::ServerUnaryReactor* CheckAndReserveStock(grpc::CallbackServerContext* ctx,
                                                 const pb::CheckAndReserveStockRequest* req,
                                                 pb::CheckAndReserveStockResponse* resp) override;
  grpc::ServerUnaryReactor* BulkReserveStock(grpc::CallbackServerContext* ctx, const pb::BulkReserveStockRequest* req,
                                             pb::BulkReserveStockResponse* resp) override;
  grpc::ServerBidiReactor<pb::CheckAndReserveStockRequest, pb::ReserveStreamResponse>* ReserveStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* CommitReservation(grpc::CallbackServerContext* ctx,
                                              const pb::CommitReservationRequest* req,
                                              pb::CommitReservationResponse* resp) override;
  grpc::ServerUnaryReactor* ReleaseReservedStock(grpc::CallbackServerContext* ctx,
                                                 const pb::ReleaseReservedStockRequest* req,
                                                 pb::ReleaseReservedStockResponse* resp) override;
  grpc::ServerUnaryReactor* ExpireReservation(grpc::CallbackServerContext* ctx,
                                              const pb::ExpireReservationRequest* req,
                                              pb::ExpireReservationResponse* resp) override;
  grpc::ServerUnaryReactor* ExtendReservation(grpc::CallbackServerContext* ctx,
                                              const pb::ExtendReservationRequest* req,
                                              pb::ExtendReservationResponse* resp) override;
  grpc::ServerUnaryReactor* BlockSales(grpc::CallbackServerContext* ctx, const pb::BlockSalesRequest* req,
                                       pb::BlockSalesResponse* resp) override;
  grpc::ServerUnaryReactor* UnblockSales(grpc::CallbackServerContext* ctx, const pb::UnblockSalesRequest* req,
                                         pb::UnblockSalesResponse* resp) override;

 private:
  Writer* const writer_;
  const CommandServiceOptions options_;
  const auth::GrpcGate gate_;
};

}  // namespace command_api

#endif  // COMMAND_API_COMMAND_SERVICE_H_
