#include "command-api/command_service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <optional>

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

// One reservation's result, as a BulkReserveStock entry and a ReserveStream
// answer carry it: the code, and the rejection or the reservation.
void FillReserveResult(const WriteResult& r, const State& s, const ledger::ReservationId& id,
                       pb::BulkReserveResult* out) {
  out->set_code(static_cast<int>(r.status.code()));
  if (!r.status.ok()) {
    out->set_error(std::string(r.status.message()));
    if (r.rejection) {
      pb::Rejection rejection = ToProto(*r.rejection);
      RenameField("CheckAndReserveStock", rejection);
      out->set_error(rejection.message());
      *out->mutable_rejection() = std::move(rejection);
    }
    return;
  }
  pb::CheckAndReserveStockResponse* ok = out->mutable_response();
  FillToken(r.positions, ok->mutable_result()->mutable_token());
  ok->mutable_result()->set_duplicate(r.duplicate);
  if (const ledger::ReservationState* res = s.reservation(id)) FillReservation(s, *res, ok->mutable_reservation());
}

// A reservation refused before it reached the writer: a shape problem
// (INVALID_ARGUMENT, naming the field) or the writer's queue or stop.
void FillInvalidReserveResult(const absl::Status& status, pb::BulkReserveResult* out) {
  out->set_code(static_cast<int>(status.code()));
  out->set_error(std::string(status.message()));
  if (status.code() != absl::StatusCode::kInvalidArgument) return;
  out->mutable_rejection()->set_reason(pb::Rejection::REASON_INVALID_ARGUMENT);
  out->mutable_rejection()->set_message(out->error());
  if (auto field = base::FieldOf(status)) out->mutable_rejection()->set_field(*field);
}

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
      FillInvalidReserveResult(command.status(), out);
      call->Done();
      continue;
    }
    ledger::ReservationId id(ReservationIdFor(entry));
    commands.emplace_back(std::move(*command), [out, id, call](const WriteResult& r, const State& s) {
      FillReserveResult(r, s, id, out);
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

// ReserveStream's reactor. It reads one request at a time and submits each
// to the writer as it arrives; answers go into a slot per request, and those
// at the front that are ready are written together in one message, so the
// stream keeps request order and needs about one write per writer batch.
// At most `window` requests are unanswered or unwritten: beyond it reading
// pauses, and HTTP/2 flow control slows the client.
//
// Lifetime: gRPC calls OnDone once the call is over, but a submitted
// command's completion may still be pending in the writer; the reactor
// deletes itself when both have happened. mu_ guards the state shared by
// gRPC's threads and the writer thread; gRPC is never called under it.
class ReserveStreamReactor final
    : public grpc::ServerBidiReactor<pb::CheckAndReserveStockRequest, pb::ReserveStreamResponse> {
 public:
  ReserveStreamReactor(Writer* writer, const CommandServiceOptions& options, const auth::GrpcGate& gate,
                       grpc::CallbackServerContext* ctx, auth::Admission admission)
      : writer_(writer),
        translate_(options.translate),
        window_(std::max(1, options.stream_window)),
        gate_(gate),
        ctx_(ctx),
        admission_(std::move(admission)) {
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::unique_lock lock(mu_);
      reading_ = false;
      reads_done_ = true;
      Act(lock, TakeActions());
      return;
    }
    std::uint64_t seq = 0;
    {
      std::lock_guard lock(mu_);
      seq = base_seq_ + slots_.size();
      slots_.emplace_back();
      ++unwritten_;
      ++awaiting_writer_;  // until Process knows better
    }
    Process(seq);
    std::unique_lock lock(mu_);
    reading_ = false;
    Act(lock, TakeActions());
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    unwritten_ -= writing_message_.answers_size();
    writing_message_.Clear();
    writing_ = false;
    if (!ok) broken_ = true;  // the client is gone: finish, answer nothing more
    Act(lock, TakeActions());
  }

  void OnCancel() override {
    std::unique_lock lock(mu_);
    broken_ = true;
    Act(lock, TakeActions());
  }

  void OnDone() override {
    std::unique_lock lock(mu_);
    done_ = true;
    if (awaiting_writer_ == 0) {
      lock.unlock();
      delete this;
    }
  }

 private:
  struct Actions {
    bool read = false;
    bool write = false;
    bool finish = false;
  };

  // Translates and submits the request just read (sequence number `seq`), or
  // answers it at once when it cannot reach the writer.
  void Process(std::uint64_t seq) {
    std::string command_id = request_.context().command_id();
    absl::Status refused;
    if (seq > 0) refused = gate_.AdmitMessage(admission_, "/inventory.v1.CommandService/ReserveStream");
    absl::StatusOr<ledger::Command> command = refused.ok() ? ToCommand(request_, translate_) : refused;
    if (command.ok()) {
      StampCaller(admission_, *ctx_, command->meta);
      ledger::ReservationId id(ReservationIdFor(request_));
      refused = writer_->Submit(std::move(*command), [this, seq, command_id, id](const WriteResult& r, const State& s) {
        pb::ReserveStreamAnswer answer;
        answer.set_command_id(command_id);
        FillReserveResult(r, s, id, answer.mutable_result());
        Answer(seq, std::move(answer), /*from_writer=*/true);
      });
      if (refused.ok()) return;
    } else {
      refused = command.status();
    }
    pb::ReserveStreamAnswer answer;
    answer.set_command_id(std::move(command_id));
    FillInvalidReserveResult(refused, answer.mutable_result());
    Answer(seq, std::move(answer), /*from_writer=*/false);
  }

  void Answer(std::uint64_t seq, pb::ReserveStreamAnswer answer, bool from_writer) {
    std::unique_lock lock(mu_);
    --awaiting_writer_;
    if (done_) {
      if (awaiting_writer_ == 0) {
        lock.unlock();
        delete this;
      }
      return;
    }
    slots_[seq - base_seq_] = std::move(answer);
    while (!slots_.empty() && slots_.front()) {
      *pending_.add_answers() = std::move(*slots_.front());
      slots_.pop_front();
      ++base_seq_;
    }
    if (from_writer) Act(lock, TakeActions());
  }

  // Under mu_: decides what to start next and marks it started.
  Actions TakeActions() {
    Actions a;
    if (finished_) return a;
    if (!broken_ && !writing_ && pending_.answers_size() > 0) {
      writing_message_.Swap(&pending_);
      writing_ = a.write = true;
    }
    if (!broken_ && !reading_ && !reads_done_ && unwritten_ < window_) reading_ = a.read = true;
    bool all_written = reads_done_ && slots_.empty() && pending_.answers_size() == 0 && !writing_;
    if ((broken_ && !writing_) || all_written) finished_ = a.finish = true;
    return a;
  }

  // Starts what `a` says, with mu_ released.
  void Act(std::unique_lock<std::mutex>& lock, Actions a) {
    lock.unlock();
    if (a.write) StartWrite(&writing_message_);
    if (a.finish) {
      Finish(broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled") : grpc::Status::OK);
    } else if (a.read) {
      StartRead(&request_);
    }
  }

  Writer* const writer_;
  const TranslateOptions translate_;
  const int window_;
  const auth::GrpcGate& gate_;
  grpc::CallbackServerContext* const ctx_;
  const auth::Admission admission_;

  pb::CheckAndReserveStockRequest request_;  // owned by the read in flight
  std::mutex mu_;
  std::deque<std::optional<pb::ReserveStreamAnswer>> slots_;  // requests base_seq_.. in order
  std::uint64_t base_seq_ = 0;
  pb::ReserveStreamResponse pending_;          // ready, not yet being written
  pb::ReserveStreamResponse writing_message_;  // owned by the write in flight
  int unwritten_ = 0;        // requests read whose answers are not yet written
  int awaiting_writer_ = 0;  // requests whose answer is not in a slot yet
  bool reading_ = false;
  bool writing_ = false;
  bool reads_done_ = false;  // the client half-closed (or the call ended)
  bool broken_ = false;      // cancelled, or a write failed
  bool finished_ = false;
  bool done_ = false;
};

}  // namespace

grpc::ServerBidiReactor<pb::CheckAndReserveStockRequest, pb::ReserveStreamResponse>*
CommandServiceImpl::ReserveStream(grpc::CallbackServerContext* ctx) {
  auth::Admission admission = Admit(gate_, ctx, "ReserveStream");
  if (!admission.ok()) return new auth::RefusedBidi<pb::CheckAndReserveStockRequest, pb::ReserveStreamResponse>(
      admission.status);
  return new ReserveStreamReactor(writer_, options_, gate_, ctx, std::move(admission));
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
