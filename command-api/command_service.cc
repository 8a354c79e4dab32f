#include "command-api/command_service.h"

#include <atomic>
#include <memory>

#include "metrics/grpc_interceptor.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "auth/policy.h"
#include "rpc/grpc_status.h"

namespace command_api {
namespace {

using ledger::State;
using rpc::ToGrpc;

// Finishes `reactor` with a failed result: status plus rejection details.
// Renames a rejection's ledger field path to the request's, in field and message.
void RenameField(std::string_view method, pb::Rejection& rejection) {
  if (rejection.field().empty()) return;
  std::string path = RequestFieldPath(method, rejection.field());
  std::string message = rejection.message();
  if (message.rfind(rejection.field() + ":", 0) == 0) message = path + message.substr(rejection.field().size());
  rejection.set_field(path);
  rejection.set_message(message);
}

void FinishFailed(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor, std::string_view method,
                  const WriteResult& result) {
  absl::Status status = result.status;
  if (result.rejection) {
    pb::Rejection rejection = ToProto(*result.rejection);
    RenameField(method, rejection);
    status = absl::Status(status.code(), base::AsAbsl(rejection.message()));
    ctx->AddTrailingMetadata(kRejectionMetadataKey, rejection.SerializeAsString());
  }
  reactor->Finish(ToGrpc(status));
}

// A request refused before it reached the writer (a shape problem): the
// status, plus a Rejection naming the field like every other refusal.
void FinishInvalid(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  pb::Rejection rejection;
  rejection.set_reason(pb::Rejection::REASON_INVALID_ARGUMENT);
  rejection.set_message(std::string(status.message()));
  if (std::optional<std::string> field = base::FieldOf(status)) rejection.set_field(*field);
  ctx->AddTrailingMetadata(kRejectionMetadataKey, rejection.SerializeAsString());
  reactor->Finish(ToGrpc(status));
}

// The call's valid W3C traceparent ("" when absent or malformed: the
// interceptor counts those), stamped on its command and so on every event it
// appends (Event.traceparent), for the publisher to pass on.
std::string TraceparentOf(const grpc::CallbackServerContext& ctx) {
  return metrics::TraceOf(ctx.client_metadata()).traceparent;
}

// What the call, not its body, says of a command: the authenticated actor and
// the caller's traceparent.
void StampCaller(const auth::Admission& admission, const grpc::CallbackServerContext& ctx, ledger::CommandMeta& meta) {
  meta.actor = auth::ActorOf(admission, meta.actor);
  meta.traceparent = TraceparentOf(ctx);
}

// Asks the gate about the RPC `method` of CommandService (short name).
auth::Admission Admit(const auth::GrpcGate& gate, grpc::CallbackServerContext* ctx, std::string_view method) {
  return gate.Admit(ctx, absl::StrCat(base::AsAbsl(auth::kCommandServicePrefix), base::AsAbsl(method)));
}

// Submits one command; `fill` writes the response from the state on success.
template <typename Fill>
grpc::ServerUnaryReactor* Unary(Writer* writer, const auth::GrpcGate& gate, grpc::CallbackServerContext* ctx,
                                std::string_view method, absl::StatusOr<ledger::Command> command,
                                pb::CommandResult* result_out, Fill fill) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auth::Admission admission = Admit(gate, ctx, method);
  if (!admission.ok()) {
    reactor->Finish(admission.status);
    return reactor;
  }
  if (!command.ok()) {
    FinishInvalid(ctx, reactor, command.status());
    return reactor;
  }
  StampCaller(admission, *ctx, command->meta);
  absl::Status submitted = writer->Submit(
      std::move(*command), [ctx, reactor, method, result_out, fill](const WriteResult& r, const State& state) {
        if (!r.status.ok()) return FinishFailed(ctx, reactor, method, r);
        FillToken(r.positions, result_out->mutable_token());
        result_out->set_duplicate(r.duplicate);
        grpc::Status filled = fill(state);
        reactor->Finish(filled);
      });
  if (!submitted.ok()) reactor->Finish(ToGrpc(submitted));
  return reactor;
}

// Counts down the entries of a bulk call; the last one finishes it.
struct BulkCall {
  grpc::ServerUnaryReactor* reactor;
  std::atomic<int> remaining;
  void Done() {
    if (remaining.fetch_sub(1) == 1) {
      reactor->Finish(grpc::Status::OK);
      delete this;
    }
  }
};

void SetBulkError(const WriteResult& r, std::string_view method, pb::BulkItemResult* out) {
  out->set_code(static_cast<int>(r.status.code()));
  if (!r.rejection) {
    out->set_error(std::string(r.status.message()));
    return;
  }
  pb::Rejection rejection = ToProto(*r.rejection);
  RenameField(method, rejection);
  out->set_error(rejection.message());
}

}  // namespace

CommandServiceImpl::CommandServiceImpl(Writer* writer, CommandServiceOptions options)
    : writer_(writer), options_(options), gate_(options.authenticator) {}

grpc::ServerUnaryReactor* CommandServiceImpl::CreateItem(grpc::CallbackServerContext* ctx,
                                                         const pb::CreateItemRequest* req,
                                                         pb::CreateItemResponse* resp) {
  ledger::Sku sku(req->item().sku());
  return Unary(writer_, gate_, ctx, "CreateItem", ToCommand(*req), resp->mutable_result(), [resp, sku](const State& s) {
    if (const ledger::ItemState* item = s.item(sku)) FillItem(*item, resp->mutable_item());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* CommandServiceImpl::UpdateItem(grpc::CallbackServerContext* ctx,
                                                         const pb::UpdateItemRequest* req,
                                                         pb::UpdateItemResponse* resp) {
  ledger::Sku sku(req->sku());
  return Unary(writer_, gate_, ctx, "UpdateItem", ToCommand(*req), resp->mutable_result(), [resp, sku](const State& s) {
    if (const ledger::ItemState* item = s.item(sku)) FillItem(*item, resp->mutable_item());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* CommandServiceImpl::DeleteItem(grpc::CallbackServerContext* ctx,
                                                         const pb::DeleteItemRequest* req,
                                                         pb::DeleteItemResponse* resp) {
  return Unary(writer_, gate_, ctx, "DeleteItem", ToCommand(*req), resp->mutable_result(),
               [](const State&) { return grpc::Status::OK; });
}

grpc::ServerUnaryReactor* CommandServiceImpl::CreateWarehouse(grpc::CallbackServerContext* ctx,
                                                              const pb::CreateWarehouseRequest* req,
                                                              pb::CreateWarehouseResponse* resp) {
  ledger::WarehouseCode code(req->warehouse().warehouse());
  return Unary(writer_, gate_, ctx, "CreateWarehouse", ToCommand(*req), resp->mutable_result(),
               [resp, code](const State& s) {
                 if (const ledger::WarehouseState* w = s.warehouse(code)) FillWarehouse(*w, resp->mutable_warehouse());
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::UpdateWarehouse(grpc::CallbackServerContext* ctx,
                                                              const pb::UpdateWarehouseRequest* req,
                                                              pb::UpdateWarehouseResponse* resp) {
  ledger::WarehouseCode code(req->warehouse());
  return Unary(writer_, gate_, ctx, "UpdateWarehouse", ToCommand(*req), resp->mutable_result(),
               [resp, code](const State& s) {
                 if (const ledger::WarehouseState* w = s.warehouse(code)) FillWarehouse(*w, resp->mutable_warehouse());
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::AdjustInventory(grpc::CallbackServerContext* ctx,
                                                              const pb::AdjustInventoryRequest* req,
                                                              pb::AdjustInventoryResponse* resp) {
  ledger::Sku sku(req->sku());
  ledger::WarehouseCode wh(req->warehouse());
  return Unary(writer_, gate_, ctx, "AdjustInventory", ToCommand(*req), resp->mutable_result(),
               [resp, sku, wh](const State& s) {
                 FillLevel(s, sku, wh, resp->mutable_level());
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::TransferInventory(grpc::CallbackServerContext* ctx,
                                                                const pb::TransferInventoryRequest* req,
                                                                pb::TransferInventoryResponse* resp) {
  ledger::TransferId id(req->transfer_id());
  return Unary(writer_, gate_, ctx, "TransferInventory", ToCommand(*req), resp->mutable_result(),
               [resp, id](const State& s) {
                 if (const ledger::TransferState* t = s.transfer(id)) {
                   const ledger::Sku& sku = s.item(t->item).sku;
                   FillLevel(s, sku, s.warehouse(t->from).code, resp->mutable_from_level());
                   FillLevel(s, sku, s.warehouse(t->to).code, resp->mutable_to_level());
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::CheckAndReserveStock(grpc::CallbackServerContext* ctx,
                                                                   const pb::CheckAndReserveStockRequest* req,
                                                                   pb::CheckAndReserveStockResponse* resp) {
  ledger::ReservationId id(ReservationIdFor(*req));
  return Unary(writer_, gate_, ctx, "CheckAndReserveStock", ToCommand(*req, options_.translate), resp->mutable_result(),
               [resp, id](const State& s) {
                 if (const ledger::ReservationState* r = s.reservation(id)) {
                   FillReservation(s, *r, resp->mutable_reservation());
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::CommitReservation(grpc::CallbackServerContext* ctx,
                                                                const pb::CommitReservationRequest* req,
                                                                pb::CommitReservationResponse* resp) {
  ledger::ReservationId id(req->reservation_id());
  return Unary(writer_, gate_, ctx, "CommitReservation", ToCommand(*req), resp->mutable_result(),
               [resp, id](const State& s) {
                 if (const ledger::ReservationState* r = s.reservation(id)) {
                   FillReservation(s, *r, resp->mutable_reservation());
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::ReleaseReservedStock(grpc::CallbackServerContext* ctx,
                                                                   const pb::ReleaseReservedStockRequest* req,
                                                                   pb::ReleaseReservedStockResponse* resp) {
  ledger::ReservationId id(req->reservation_id());
  return Unary(writer_, gate_, ctx, "ReleaseReservedStock", ToCommand(*req), resp->mutable_result(),
               [resp, id](const State& s) {
                 if (const ledger::ReservationState* r = s.reservation(id)) {
                   FillReservation(s, *r, resp->mutable_reservation());
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::ExpireReservation(grpc::CallbackServerContext* ctx,
                                                                const pb::ExpireReservationRequest* req,
                                                                pb::ExpireReservationResponse* resp) {
  ledger::ReservationId id(req->reservation_id());
  return Unary(writer_, gate_, ctx, "ExpireReservation", ToCommand(*req), resp->mutable_result(),
               [resp, id](const State& s) {
                 if (const ledger::ReservationState* r = s.reservation(id)) {
                   FillReservation(s, *r, resp->mutable_reservation());
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::ExtendReservation(grpc::CallbackServerContext* ctx,
                                                                const pb::ExtendReservationRequest* req,
                                                                pb::ExtendReservationResponse* resp) {
  ledger::ReservationId id(req->reservation_id());
  return Unary(writer_, gate_, ctx, "ExtendReservation", ToCommand(*req, options_.translate), resp->mutable_result(),
               [resp, id](const State& s) {
                 if (const ledger::ReservationState* r = s.reservation(id)) {
                   FillReservation(s, *r, resp->mutable_reservation());
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::BlockSales(grpc::CallbackServerContext* ctx,
                                                         const pb::BlockSalesRequest* req,
                                                         pb::BlockSalesResponse* resp) {
  ledger::Sku sku(req->sku());
  ledger::WarehouseCode scope(req->warehouse());
  return Unary(writer_, gate_, ctx, "BlockSales", ToCommand(*req), resp->mutable_result(),
               [resp, sku, scope](const State& s) {
                 if (const ledger::ItemState* item = s.item(sku)) {
                   for (const ledger::SalesBlock& b : item->sales_blocks) {
                     if (b.warehouse == scope) FillSalesBlock(sku, b, resp->mutable_block());
                   }
                 }
                 return grpc::Status::OK;
               });
}

grpc::ServerUnaryReactor* CommandServiceImpl::UnblockSales(grpc::CallbackServerContext* ctx,
                                                           const pb::UnblockSalesRequest* req,
                                                           pb::UnblockSalesResponse* resp) {
  return Unary(writer_, gate_, ctx, "UnblockSales", ToCommand(*req), resp->mutable_result(),
               [](const State&) { return grpc::Status::OK; });
}

grpc::ServerUnaryReactor* CommandServiceImpl::BulkReserveStock(grpc::CallbackServerContext* ctx,
                                                               const pb::BulkReserveStockRequest* req,
                                                               pb::BulkReserveStockResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auth::Admission admission = Admit(gate_, ctx, "BulkReserveStock");
  if (!admission.ok()) {
    reactor->Finish(admission.status);
    return reactor;
  }
  int n = req->reservations_size();
  if (n == 0 || n > options_.bulk_entries_max) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 absl::StrCat("reservations: must hold 1..", options_.bulk_entries_max,
                                              " entries, got ", n)));
    return reactor;
  }
  for (int i = 0; i < n; ++i) resp->add_results();
  auto* call = new BulkCall{reactor, {n}};
  std::vector<std::pair<ledger::Command, Completion>> commands;
  for (int i = 0; i < n; ++i) {
    const pb::CheckAndReserveStockRequest& entry = req->reservations(i);
    pb::BulkReserveResult* out = resp->mutable_results(i);
    absl::StatusOr<ledger::Command> command = ToCommand(entry, options_.translate);
    if (command.ok()) StampCaller(admission, *ctx, command->meta);
    if (!command.ok()) {
      out->set_code(static_cast<int>(command.status().code()));
      out->set_error(std::string(command.status().message()));
      out->mutable_rejection()->set_reason(pb::Rejection::REASON_INVALID_ARGUMENT);
      out->mutable_rejection()->set_message(out->error());
      if (auto field = base::FieldOf(command.status())) out->mutable_rejection()->set_field(*field);
      call->Done();
      continue;
    }
    ledger::ReservationId id(ReservationIdFor(entry));
    commands.emplace_back(std::move(*command), [out, id, call](const WriteResult& r, const State& s) {
      out->set_code(static_cast<int>(r.status.code()));
      if (!r.status.ok()) {
        out->set_error(std::string(r.status.message()));
        if (r.rejection) {
          pb::Rejection rejection = ToProto(*r.rejection);
          RenameField("CheckAndReserveStock", rejection);
          out->set_error(rejection.message());
          *out->mutable_rejection() = std::move(rejection);
        }
      } else {
        pb::CheckAndReserveStockResponse* ok = out->mutable_response();
        FillToken(r.positions, ok->mutable_result()->mutable_token());
        ok->mutable_result()->set_duplicate(r.duplicate);
        if (const ledger::ReservationState* res = s.reservation(id)) FillReservation(s, *res, ok->mutable_reservation());
      }
      call->Done();
    });
  }
  if (commands.empty()) return reactor;
  std::size_t queued = commands.size();
  absl::Status submitted = writer_->SubmitMany(std::move(commands));
  if (!submitted.ok()) {
    // Nothing of the group was queued: answer each entry with the refusal.
    for (int i = 0; i < n; ++i) {
      pb::BulkReserveResult* out = resp->mutable_results(i);
      if (out->code() != 0) continue;
      out->set_code(static_cast<int>(submitted.code()));
      out->set_error(std::string(submitted.message()));
    }
    for (std::size_t i = 0; i < queued; ++i) call->Done();
  }
  return reactor;
}

namespace {

// Shared by the two bulk item calls.
template <typename Request, typename Response, typename ToCmd, typename SkuOf>
grpc::ServerUnaryReactor* BulkItems(Writer* writer, const auth::GrpcGate& gate, int entries_max,
                                    grpc::CallbackServerContext* ctx, std::string_view method,
                                    std::string_view entries_field, const Request& entries,
                                    const std::string& command_id,
                                    Response* resp, ToCmd to_command, SkuOf sku_of) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auth::Admission admission = Admit(gate, ctx, absl::StrCat("Bulk", base::AsAbsl(method), "s"));
  if (!admission.ok()) {
    reactor->Finish(admission.status);
    return reactor;
  }
  int n = entries.size();
  if (command_id.empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "context.command_id: is required"));
    return reactor;
  }
  if (n == 0 || n > entries_max) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 absl::StrCat(base::AsAbsl(entries_field), ": must hold 1..", entries_max,
                                              " entries, got ", n)));
    return reactor;
  }
  for (int i = 0; i < n; ++i) resp->add_results();
  auto* call = new BulkCall{reactor, {n}};
  std::vector<std::pair<ledger::Command, Completion>> commands;
  for (int i = 0; i < n; ++i) {
    pb::BulkItemResult* out = resp->mutable_results(i);
    out->set_sku(sku_of(entries.Get(i)));
    absl::StatusOr<ledger::Command> command = to_command(entries.Get(i));
    if (command.ok()) {
      command->meta.command_id = ledger::CommandId(absl::StrCat(command_id, "/", i));
      StampCaller(admission, *ctx, command->meta);
    }
    if (!command.ok()) {
      out->set_code(static_cast<int>(command.status().code()));
      out->set_error(std::string(command.status().message()));
      call->Done();
      continue;
    }
    commands.emplace_back(std::move(*command), [out, call, method](const WriteResult& r, const State&) {
      if (!r.status.ok()) {
        SetBulkError(r, method, out);
      } else {
        FillToken(r.positions, out->mutable_result()->mutable_token());
        out->mutable_result()->set_duplicate(r.duplicate);
      }
      call->Done();
    });
  }
  if (commands.empty()) return reactor;
  std::size_t queued = commands.size();
  absl::Status submitted = writer->SubmitMany(std::move(commands));
  if (!submitted.ok()) {
    for (int i = 0; i < n; ++i) {
      pb::BulkItemResult* out = resp->mutable_results(i);
      if (out->code() != 0) continue;
      out->set_code(static_cast<int>(submitted.code()));
      out->set_error(std::string(submitted.message()));
    }
    for (std::size_t i = 0; i < queued; ++i) call->Done();
  }
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* CommandServiceImpl::BulkCreateItems(grpc::CallbackServerContext* ctx,
                                                              const pb::BulkCreateItemsRequest* req,
                                                              pb::BulkCreateItemsResponse* resp) {
  const pb::CommandContext& context = req->context();
  return BulkItems(
      writer_, gate_, options_.bulk_entries_max, ctx, "CreateItem", "items", req->items(), context.command_id(), resp,
      [&context](const pb::Item& item) {
        pb::CreateItemRequest one;
        *one.mutable_context() = context;
        *one.mutable_item() = item;
        return ToCommand(one);
      },
      [](const pb::Item& item) { return item.sku(); });
}

grpc::ServerUnaryReactor* CommandServiceImpl::BulkUpdateItems(grpc::CallbackServerContext* ctx,
                                                              const pb::BulkUpdateItemsRequest* req,
                                                              pb::BulkUpdateItemsResponse* resp) {
  const pb::CommandContext& context = req->context();
  return BulkItems(
      writer_, gate_, options_.bulk_entries_max, ctx, "UpdateItem", "updates", req->updates(), context.command_id(), resp,
      [&context](const pb::UpdateItemRequest& update) {
        pb::UpdateItemRequest one = update;
        *one.mutable_context() = context;
        return ToCommand(one);
      },
      [](const pb::UpdateItemRequest& update) { return update.sku(); });
}

}  // namespace command_api
