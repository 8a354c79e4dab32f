#include "http-api/api_routes.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "auth/grpc_gate.h"
#include "base/status.h"
#include "http-api/codec.h"
#include "proto/command_service.grpc.pb.h"
#include "proto/query_service.grpc.pb.h"
#include "proto/rejection_metadata.h"

namespace http_api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr char kTokenHeader[] = "X-Consistency-Token";

struct Api {
  std::unique_ptr<pb::CommandService::Stub> command;
  std::unique_ptr<pb::QueryService::Stub> query;
  ApiOptions options;
};

// A request refused at the HTTP edge, before any call.
struct Refusal {
  unsigned status;
  absl::Status error;
};

HttpResponse JsonResponse(unsigned status, const Message& body) {
  HttpResponse r;
  r.status = status;
  r.body = PrintJson(body);
  return r;
}

// ---- credentials (auth/grpc_gate.h, docs/security.md) ----

// The headers a refusal of the gate needs over HTTP: WWW-Authenticate on 401
// (RFC 6750: error="invalid_token" when a token was sent), Retry-After in
// whole seconds, rounded up, on 429 when the gate said when to retry.
void AddRefusalHeaders(bool token_sent, const std::multimap<grpc::string_ref, grpc::string_ref>* trailers,
                       HttpResponse* r) {
  if (r->status == 401) {
    r->headers.emplace_back("WWW-Authenticate", token_sent ? "Bearer realm=\"inventory\", error=\"invalid_token\""
                                                           : "Bearer realm=\"inventory\"");
  }
  if (r->status != 429 || trailers == nullptr) return;
  auto it = trailers->find(auth::kRetryPushbackKey);
  std::int64_t ms = 0;
  if (it == trailers->end() || !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) return;
  r->headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, (ms + 999) / 1000)));
}

// The caller's Authorization and X-API-Key headers go on as the metadata the
// gate reads, so an HTTP request meets the principal, policy and rate limits
// a gRPC call meets; so does a verified client certificate's subject, with
// the edge secret that vouches for it. A value gRPC metadata cannot carry (a
// byte outside printable ASCII) is no credential: refused here, 401.
std::optional<Refusal> ForwardCredentials(const HttpRequest& http, const std::string& edge_secret,
                                          grpc::ClientContext* ctx) {
  if (!http.client_subject.empty() && !edge_secret.empty()) {
    ctx->AddMetadata(auth::kForwardedSubjectKey, http.client_subject);
    ctx->AddMetadata(auth::kEdgeSecretKey, edge_secret);
  }
  for (const char* name : {auth::kAuthorizationKey, auth::kApiKeyKey}) {
    if (!http.HasHeader(name)) continue;
    std::string value = http.Header(name);
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        return Refusal{401, absl::UnauthenticatedError(
                                absl::StrCat("the ", name, " header holds a byte that is not printable ASCII"))};
      }
    }
    ctx->AddMetadata(name, value);
  }
  return std::nullopt;
}

bool TokenSent(const HttpRequest& http) { return http.HasHeader(auth::kAuthorizationKey); }

HttpResponse RefusalResponse(const Refusal& refusal, bool token_sent = false) {
  HttpResponse r = JsonResponse(refusal.status, ErrorOf(refusal.error));
  AddRefusalHeaders(token_sent, nullptr, &r);
  return r;
}

// The field a service error names: its message starts "field.path: ...".
std::string FieldOfMessage(const std::string& message) {
  size_t colon = message.find(": ");
  if (colon == std::string::npos || colon == 0) return std::string();
  for (size_t i = 0; i < colon; ++i) {
    char c = message[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '[' && c != ']') {
      return std::string();
    }
  }
  return message.substr(0, colon);
}

// A call's error as HttpError, with the status grpc-gateway gives its code.
HttpResponse ErrorAnswer(const grpc::Status& status, const grpc::ClientContext& ctx, bool token_sent) {
  std::optional<pb::Rejection> rejection;
  const auto& trailers = ctx.GetServerTrailingMetadata();
  if (auto it = trailers.find(pb::kRejectionMetadataKey); it != trailers.end()) {
    pb::Rejection parsed;
    if (parsed.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) rejection = std::move(parsed);
  }
  pb::HttpError error = ErrorOf(status, rejection);
  if (error.field().empty()) error.set_field(FieldOfMessage(error.message()));
  HttpResponse r = JsonResponse(HttpStatusOf(status.error_code()), error);
  AddRefusalHeaders(token_sent, &trailers, &r);
  return r;
}

HttpResponse CallAnswer(const grpc::Status& status, const grpc::ClientContext& ctx, const Message& response,
                        bool token_sent) {
  if (!status.ok()) return ErrorAnswer(status, ctx, token_sent);
  HttpResponse r = JsonResponse(200, response);
  pb::ConsistencyToken token = CollectTokens(response);
  if (token.positions_size() > 0) r.headers.emplace_back(kTokenHeader, TokenText(token));
  return r;
}

bool IsJson(const std::string& content_type) {
  std::string t = absl::AsciiStrToLower(content_type.substr(0, content_type.find(';')));
  absl::StripAsciiWhitespace(&t);
  return t == "application/json";
}

const FieldDescriptor* MessageField(const Message& m, std::string_view name, const google::protobuf::Descriptor* type) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(std::string(name));
  return f != nullptr && f->message_type() == type ? f : nullptr;
}

// Idempotency-Key -> context.command_id.
std::optional<Refusal> ApplyIdempotencyKey(const HttpRequest& http, Message* req) {
  if (!http.HasHeader("idempotency-key")) return std::nullopt;
  std::string key = http.Header("idempotency-key");
  const FieldDescriptor* f = MessageField(*req, "context", pb::CommandContext::descriptor());
  if (f == nullptr) {
    return Refusal{400, base::InvalidField("Idempotency-Key", "not accepted on this route: each entry of the body "
                                                              "carries its own context.commandId")};
  }
  auto* context = static_cast<pb::CommandContext*>(req->GetReflection()->MutableMessage(req, f));
  if (!context->command_id().empty() && context->command_id() != key) {
    return Refusal{400, base::InvalidField("context.command_id",
                                           absl::StrCat("the body says '", context->command_id(),
                                                        "' but the Idempotency-Key header says '", key, "'"))};
  }
  context->set_command_id(key);
  return std::nullopt;
}

// X-Consistency-Token header / ?minToken= -> read.min_token.
std::optional<Refusal> ApplyMinToken(const HttpRequest& http, const std::optional<std::string>& query_token,
                                     Message* req) {
  bool header = http.HasHeader("x-consistency-token");
  if (!header && !query_token) return std::nullopt;
  const FieldDescriptor* f = MessageField(*req, "read", pb::ReadOptions::descriptor());
  if (f == nullptr) return Refusal{400, base::InvalidField("minToken", "only reads wait for a consistency token")};
  std::string text = header ? http.Header("x-consistency-token") : *query_token;
  if (header && query_token && *query_token != text) {
    return Refusal{400, base::InvalidField("minToken", "differs from the X-Consistency-Token header")};
  }
  absl::StatusOr<pb::ConsistencyToken> token = ParseToken(text, header ? "X-Consistency-Token" : "minToken");
  if (!token.ok()) return Refusal{400, token.status()};
  auto* read = static_cast<pb::ReadOptions*>(req->GetReflection()->MutableMessage(req, f));
  *read->mutable_min_token() = std::move(*token);
  return std::nullopt;
}

// {path} segments onto string fields; a body that names another value is refused.
std::optional<Refusal> ApplyPath(const HttpRequest& http, const std::vector<std::pair<std::string, std::string>>& path,
                                 Message* req) {
  for (const auto& [param, field_name] : path) {
    const FieldDescriptor* f = req->GetDescriptor()->FindFieldByName(field_name);
    const std::string& value = http.params.at(param);
    const google::protobuf::Reflection* r = req->GetReflection();
    if (absl::Status s = CheckUtf8(field_name, value); !s.ok()) return Refusal{400, s};
    if (f->is_repeated()) {
      if (r->FieldSize(*req, f) > 0) {
        return Refusal{400, base::InvalidField(field_name, absl::StrCat("comes from the path ({", param, "})"))};
      }
      r->AddString(req, f, value);
      continue;
    }
    std::string given = r->GetString(*req, f);
    if (!given.empty() && given != value) {
      return Refusal{400, base::InvalidField(field_name, absl::StrCat("the body says '", given, "' but the path says '",
                                                                      value, "'"))};
    }
    r->SetString(req, f, value);
  }
  return std::nullopt;
}

// Body, query, path, headers -> the request message.
std::optional<Refusal> Prepare(const HttpRequest& http, const std::vector<std::pair<std::string, std::string>>& path,
                               Message* req) {
  bool takes_body = http.method == "POST" || http.method == "PUT";
  if (!http.body.empty()) {
    if (!takes_body) return Refusal{400, absl::InvalidArgumentError(absl::StrCat(http.method, " takes no body"))};
    if (!IsJson(http.Header("content-type"))) {
      return Refusal{415, absl::InvalidArgumentError(absl::StrCat("Content-Type '", http.Header("content-type"),
                                                                  "' is not supported; send application/json"))};
    }
    if (absl::Status s = ParseJson(http.body, req); !s.ok()) return Refusal{400, s};
  }
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<std::string> min_token;
  for (const auto& [name, value] : http.query) {
    if (name == "minToken" || name == "min_token") {
      min_token = value;
    } else {
      query.emplace_back(name, value);
    }
  }
  if (absl::Status s = ApplyQuery(query, req); !s.ok()) return Refusal{400, s};
  if (auto r = ApplyPath(http, path, req)) return r;
  if (auto r = ApplyIdempotencyKey(http, req)) return r;
  return ApplyMinToken(http, min_token, req);
}

// The W3C traceparent header goes on as gRPC metadata: the service
// validates it (the interceptor counts a malformed one under source "http"),
// logs its trace id and stamps it on the command's events. A value gRPC
// metadata cannot carry (not printable ASCII, or over 512 bytes) is passed as
// "malformed", so it is counted and ignored like any other bad value.
void ForwardTraceparent(const HttpRequest& http, grpc::ClientContext* ctx) {
  if (!http.HasHeader("traceparent")) return;
  std::string value = http.Header("traceparent");
  const bool printable = value.size() <= 512 && std::all_of(value.begin(), value.end(), [](char c) {
                           return c >= 0x20 && c <= 0x7e;
                         });
  ctx->AddMetadata("traceparent", printable ? value : "malformed");
}

template <typename Req, typename Resp>
struct UnaryCall {
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};

// Route-specific checks and defaults after Prepare.
template <typename Req>
using Adjust = std::function<absl::Status(Req&)>;

template <typename Req, typename Resp, typename Invoke>
Handler Unary(std::shared_ptr<Api> api, std::vector<std::pair<std::string, std::string>> path, Adjust<Req> adjust,
              Invoke invoke) {
  return [api, path, adjust, invoke](const HttpRequest& http, std::shared_ptr<Exchange> exchange) {
    auto call = std::make_shared<UnaryCall<Req, Resp>>();
    if (auto refusal = Prepare(http, path, &call->req)) return exchange->Respond(RefusalResponse(*refusal));
    if (adjust) {
      if (absl::Status s = adjust(call->req); !s.ok()) return exchange->Respond(RefusalResponse({400, s}));
    }
    bool token_sent = TokenSent(http);
    if (auto refusal = ForwardCredentials(http, api->options.edge_secret, &call->ctx)) {
      return exchange->Respond(RefusalResponse(*refusal, token_sent));
    }
    call->ctx.set_deadline(std::chrono::system_clock::now() + exchange->request_time());
    ForwardTraceparent(http, &call->ctx);
    std::weak_ptr<UnaryCall<Req, Resp>> weak = call;
    exchange->OnClose([weak] {
      if (auto c = weak.lock()) c->ctx.TryCancel();
    });
    UnaryCall<Req, Resp>* raw = call.get();
    invoke(*api, &raw->ctx, &raw->req, &raw->resp, [call, exchange, token_sent](grpc::Status status) {
      exchange->Respond(CallAnswer(status, call->ctx, call->resp, token_sent));
    });
  };
}

#define COMMAND(Method)                                                                                \
  [](Api& a, grpc::ClientContext* c, const auto* q, auto* r, std::function<void(grpc::Status)> done) { \
    a.command->async()->Method(c, q, r, std::move(done));                                              \
  }
#define QUERY(Method)                                                                                  \
  [](Api& a, grpc::ClientContext* c, const auto* q, auto* r, std::function<void(grpc::Status)> done) { \
    a.query->async()->Method(c, q, r, std::move(done));                                                \
  }

// ---- GET /api/v1/stream -------------------------------------------------

// One SSE stream over one StreamInventoryUpdates call. Owns itself from
// Start until OnDone. The status line waits for the service's initial
// metadata, which it sends once it has admitted the stream (query-api
// stream_updates.cc), so a stream the gate or validation refuses is a plain
// 401/403/429/400 answer, not a 200 with an error event. At most one gRPC
// read or one SSE write is in flight:
// the next read starts when the previous event is on the wire, so a slow
// client slows only its own gRPC stream (which the service cuts at its
// buffer bound).
class EventStream final : public grpc::ClientReadReactor<pb::InventoryUpdate>,
                          public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(std::shared_ptr<Exchange> exchange, StreamPosition resume, bool token_sent)
      : exchange_(std::move(exchange)), position_(std::move(resume)), skip_(position_), token_sent_(token_sent) {}

  grpc::ClientContext* context() { return &ctx_; }

  void Start(pb::QueryService::Stub* stub, pb::StreamInventoryUpdatesRequest req) {
    self_ = shared_from_this();
    req_ = std::move(req);
    std::weak_ptr<EventStream> weak = self_;
    exchange_->OnClose([weak] {
      if (auto s = weak.lock()) s->ctx_.TryCancel();
    });
    stub->async()->StreamInventoryUpdates(&ctx_, &req_, this);
    StartRead(&update_);
    StartCall();
  }

  // gRPC runs this before OnReadDone and OnDone. A refusal (status only)
  // has no admission mark.
  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok || !ctx_.GetServerInitialMetadata().count(pb::kStreamAdmittedMetadataKey)) return;
    started_ = true;
    exchange_->StartEvents({});
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const pb::LogPosition& at = update_.position();
    uint32_t index = update_.movement_index();
    if (auto it = skip_.find(at.partition()); it != skip_.end()) {
      if (at.offset() == it->second.first && index <= it->second.second) return StartRead(&update_);
      if (at.offset() > it->second.first) skip_.erase(it);
    }
    position_[at.partition()] = {at.offset(), index};
    std::string event = absl::StrCat("id: ", StreamPositionText(position_), "\nevent: update\ndata: ",
                                     PrintJson(update_), "\n\n");
    std::weak_ptr<EventStream> weak = self_;
    exchange_->SendEvent(std::move(event), [this](bool sent) {
      // The reactor is alive: OnDone cannot run while no read is pending
      // and the call is not cancelled.
      if (!sent) {
        ctx_.TryCancel();
        return;
      }
      StartRead(&update_);
    });
  }

  void OnDone(const grpc::Status& status) override {
    if (!started_) {
      exchange_->Respond(ErrorAnswer(status, ctx_, token_sent_));
      self_.reset();  // may destroy this
      return;
    }
    std::string last;
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      last = absl::StrCat("event: error\ndata: ", PrintJson(ErrorOf(status, std::nullopt)), "\n\n");
    }
    exchange_->EndEvents(std::move(last));
    self_.reset();  // may destroy this
  }

 private:
  std::shared_ptr<Exchange> exchange_;
  grpc::ClientContext ctx_;
  pb::StreamInventoryUpdatesRequest req_;
  pb::InventoryUpdate update_;
  StreamPosition position_;  // the last update sent, per partition
  StreamPosition skip_;      // what a resumed stream must not send again
  const bool token_sent_;
  bool started_ = false;  // the status line is out (set on gRPC's thread before OnReadDone and OnDone)
  std::shared_ptr<EventStream> self_;
};

// Last-Event-ID -> where the gRPC stream starts: after (offset - 1) of each
// named partition, skipping the updates at `offset` up to the id's index.
void ResumeFrom(const StreamPosition& position, pb::StreamInventoryUpdatesRequest* req) {
  for (const auto& [partition, at] : position) {
    if (at.first == 0) continue;  // unnamed partitions start at offset 0
    pb::LogPosition* p = req->mutable_start_after()->add_positions();
    p->set_partition(partition);
    p->set_offset(at.first - 1);
  }
  if (req->start_after().positions_size() == 0) req->set_from_beginning(true);
}

Handler Stream(std::shared_ptr<Api> api) {
  return [api](const HttpRequest& http, std::shared_ptr<Exchange> exchange) {
    pb::StreamInventoryUpdatesRequest req;
    std::vector<std::pair<std::string, std::string>> query;
    std::string last_id = http.Header("last-event-id");
    for (const auto& [name, value] : http.query) {
      if (name == "lastEventId") {
        if (last_id.empty()) last_id = value;
      } else {
        query.emplace_back(name, value);
      }
    }
    if (!http.body.empty()) {
      return exchange->Respond(RefusalResponse({400, absl::InvalidArgumentError("GET takes no body")}));
    }
    if (absl::Status s = ApplyQuery(query, &req); !s.ok()) return exchange->Respond(RefusalResponse({400, s}));
    absl::StatusOr<StreamPosition> resume = ParseStreamPosition(last_id);
    if (!resume.ok()) return exchange->Respond(RefusalResponse({400, resume.status()}));
    if (!resume->empty()) {
      if (req.from_beginning()) {
        return exchange->Respond(RefusalResponse(
            {400, base::InvalidField("fromBeginning", "give either fromBeginning or Last-Event-ID, not both")}));
      }
      ResumeFrom(*resume, &req);
    }
    bool token_sent = TokenSent(http);
    auto stream = std::make_shared<EventStream>(exchange, std::move(*resume), token_sent);
    if (auto refusal = ForwardCredentials(http, api->options.edge_secret, stream->context())) {
      return exchange->Respond(RefusalResponse(*refusal, token_sent));
    }
    stream->Start(api->query.get(), std::move(req));
  };
}

// ---- /health, /ready --------------------------------------------------

Handler Health() {
  return [](const HttpRequest&, std::shared_ptr<Exchange> exchange) {
    pb::HealthResponse r;
    r.set_status("SERVING");
    r.set_detail("the process is up");
    exchange->Respond(JsonResponse(200, r));
  };
}

Handler Ready(std::shared_ptr<Api> api) {
  return [api](const HttpRequest&, std::shared_ptr<Exchange> exchange) {
    absl::Status ready = api->options.ready ? api->options.ready() : absl::OkStatus();
    if (!ready.ok()) return exchange->Respond(JsonResponse(503, ErrorOf(ready)));
    pb::HealthResponse r;
    r.set_status("READY");
    r.set_detail("log open; views within the readiness bound");
    exchange->Respond(JsonResponse(200, r));
  };
}

absl::Status RequireChange(const pb::AdjustInventoryRequest& r, pb::AdjustInventoryRequest::ChangeCase want,
                           std::string_view field, std::string_view route) {
  if (r.change_case() == want) return absl::OkStatus();
  return base::InvalidField(field, absl::StrCat("is required on ", base::AsAbsl(route),
                                                " (and no other change may be set)"));
}

absl::Status TransferStep(pb::TransferInventoryRequest& r, pb::TransferInventoryRequest::Step step) {
  if (r.step() != pb::TransferInventoryRequest::STEP_UNSPECIFIED && r.step() != step) {
    return base::InvalidField("step", "contradicts the route; leave it out");
  }
  r.set_step(step);
  return absl::OkStatus();
}

}  // namespace

absl::Status RegisterApiRoutes(HttpServer* server, std::shared_ptr<grpc::Channel> channel, ApiOptions options) {
  auto api = std::make_shared<Api>();
  api->command = pb::CommandService::NewStub(channel);
  api->query = pb::QueryService::NewStub(channel);
  api->options = std::move(options);
  using P = std::vector<std::pair<std::string, std::string>>;
  using AdjustReq = pb::AdjustInventoryRequest;
  using TransferReq = pb::TransferInventoryRequest;
  std::vector<std::tuple<std::string, std::string, Handler>> routes = {
      {"GET", "/health", Health()},
      {"GET", "/ready", Ready(api)},
      // items
      {"GET", "/api/v1/items", Unary<pb::ListItemsRequest, pb::ListItemsResponse>(api, {}, {}, QUERY(ListItems))},
      {"POST", "/api/v1/items",
       Unary<pb::CreateItemRequest, pb::CreateItemResponse>(api, {}, {}, COMMAND(CreateItem))},
      {"GET", "/api/v1/items/{sku}",
       Unary<pb::GetItemRequest, pb::GetItemResponse>(api, P{{"sku", "sku"}}, {}, QUERY(GetItem))},
      {"PUT", "/api/v1/items/{sku}",
       Unary<pb::UpdateItemRequest, pb::UpdateItemResponse>(api, P{{"sku", "sku"}}, {}, COMMAND(UpdateItem))},
      {"DELETE", "/api/v1/items/{sku}",
       Unary<pb::DeleteItemRequest, pb::DeleteItemResponse>(api, P{{"sku", "sku"}}, {}, COMMAND(DeleteItem))},
      {"POST", "/api/v1/items/bulk",
       Unary<pb::BulkCreateItemsRequest, pb::BulkCreateItemsResponse>(api, {}, {}, COMMAND(BulkCreateItems))},
      {"PUT", "/api/v1/items/bulk",
       Unary<pb::BulkUpdateItemsRequest, pb::BulkUpdateItemsResponse>(api, {}, {}, COMMAND(BulkUpdateItems))},
      // warehouses
      {"GET", "/api/v1/warehouses",
       Unary<pb::ListWarehousesRequest, pb::ListWarehousesResponse>(api, {}, {}, QUERY(ListWarehouses))},
      {"POST", "/api/v1/warehouses",
       Unary<pb::CreateWarehouseRequest, pb::CreateWarehouseResponse>(api, {}, {}, COMMAND(CreateWarehouse))},
      {"GET", "/api/v1/warehouses/{code}",
       Unary<pb::GetWarehouseRequest, pb::GetWarehouseResponse>(api, P{{"code", "warehouse"}}, {},
                                                                 QUERY(GetWarehouse))},
      {"PUT", "/api/v1/warehouses/{code}",
       Unary<pb::UpdateWarehouseRequest, pb::UpdateWarehouseResponse>(api, P{{"code", "warehouse"}}, {},
                                                                       COMMAND(UpdateWarehouse))},
      {"GET", "/api/v1/warehouses/{code}/inventory",
       Unary<pb::GetWarehouseInventoryRequest, pb::GetWarehouseInventoryResponse>(
           api, P{{"code", "warehouse"}}, {}, QUERY(GetWarehouseInventory))},
      // inventory
      {"GET", "/api/v1/inventory/{sku}",
       Unary<pb::GetInventoryLevelsRequest, pb::GetInventoryLevelsResponse>(api, P{{"sku", "skus"}}, {},
                                                                             QUERY(GetInventoryLevels))},
      {"GET", "/api/v1/inventory/{sku}/movements",
       Unary<pb::ListMovementsRequest, pb::ListMovementsResponse>(api, P{{"sku", "sku"}}, {}, QUERY(ListMovements))},
      {"POST", "/api/v1/inventory/receive",
       Unary<AdjustReq, pb::AdjustInventoryResponse>(
           api, {}, [](AdjustReq& r) { return RequireChange(r, AdjustReq::kReceiveQuantity, "receive_quantity", "/receive"); },
           COMMAND(AdjustInventory))},
      {"POST", "/api/v1/inventory/adjust",
       Unary<AdjustReq, pb::AdjustInventoryResponse>(
           api, {}, [](AdjustReq& r) { return RequireChange(r, AdjustReq::kAdjustDelta, "adjust_delta", "/adjust"); },
           COMMAND(AdjustInventory))},
      {"POST", "/api/v1/inventory/count",
       Unary<AdjustReq, pb::AdjustInventoryResponse>(
           api, {}, [](AdjustReq& r) { return RequireChange(r, AdjustReq::kCountedQuantity, "counted_quantity", "/count"); },
           COMMAND(AdjustInventory))},
      {"POST", "/api/v1/inventory/transfer",
       Unary<TransferReq, pb::TransferInventoryResponse>(
           api, {}, [](TransferReq& r) { return TransferStep(r, TransferReq::STEP_SHIP); }, COMMAND(TransferInventory))},
      {"POST", "/api/v1/inventory/transfer/receive",
       Unary<TransferReq, pb::TransferInventoryResponse>(
           api, {}, [](TransferReq& r) { return TransferStep(r, TransferReq::STEP_RECEIVE); },
           COMMAND(TransferInventory))},
      // sales blocks
      {"POST", "/api/v1/inventory/{sku}/block",
       Unary<pb::BlockSalesRequest, pb::BlockSalesResponse>(api, P{{"sku", "sku"}}, {}, COMMAND(BlockSales))},
      {"POST", "/api/v1/inventory/{sku}/unblock",
       Unary<pb::UnblockSalesRequest, pb::UnblockSalesResponse>(api, P{{"sku", "sku"}}, {}, COMMAND(UnblockSales))},
      // reservations
      {"POST", "/api/v1/reservations",
       Unary<pb::CheckAndReserveStockRequest, pb::CheckAndReserveStockResponse>(api, {}, {},
                                                                                 COMMAND(CheckAndReserveStock))},
      {"POST", "/api/v1/reservations/bulk",
       Unary<pb::BulkReserveStockRequest, pb::BulkReserveStockResponse>(api, {}, {}, COMMAND(BulkReserveStock))},
      {"GET", "/api/v1/reservations/{id}",
       Unary<pb::GetReservationRequest, pb::GetReservationResponse>(api, P{{"id", "reservation_id"}}, {},
                                                                     QUERY(GetReservation))},
      {"POST", "/api/v1/reservations/{id}/commit",
       Unary<pb::CommitReservationRequest, pb::CommitReservationResponse>(api, P{{"id", "reservation_id"}}, {},
                                                                           COMMAND(CommitReservation))},
      {"POST", "/api/v1/reservations/{id}/cancel",
       Unary<pb::ReleaseReservedStockRequest, pb::ReleaseReservedStockResponse>(
           api, P{{"id", "reservation_id"}},
           [](pb::ReleaseReservedStockRequest& r) {
             if (r.reason() == pb::RELEASE_REASON_UNSPECIFIED) r.set_reason(pb::RELEASE_REASON_CANCELLED);
             return absl::OkStatus();
           },
           COMMAND(ReleaseReservedStock))},
      {"POST", "/api/v1/reservations/{id}/expire",
       Unary<pb::ExpireReservationRequest, pb::ExpireReservationResponse>(api, P{{"id", "reservation_id"}}, {},
                                                                           COMMAND(ExpireReservation))},
      {"POST", "/api/v1/reservations/{id}/extend",
       Unary<pb::ExtendReservationRequest, pb::ExtendReservationResponse>(api, P{{"id", "reservation_id"}}, {},
                                                                           COMMAND(ExtendReservation))},
      {"GET", "/api/v1/reservations/order/{orderId}",
       Unary<pb::ListReservationsRequest, pb::ListReservationsResponse>(api, P{{"orderId", "order_id"}}, {},
                                                                         QUERY(ListReservations))},
      // availability
      {"POST", "/api/v1/availability/check",
       Unary<pb::CheckAvailabilityRequest, pb::CheckAvailabilityResponse>(api, {}, {}, QUERY(CheckAvailability))},
      {"POST", "/api/v1/availability/bulk",
       Unary<pb::BulkCheckAvailabilityRequest, pb::BulkCheckAvailabilityResponse>(api, {}, {},
                                                                                   QUERY(BulkCheckAvailability))},
      // reports
      {"GET", "/api/v1/reports/inventory",
       Unary<pb::GetInventoryReportRequest, pb::GetInventoryReportResponse>(api, {}, {}, QUERY(GetInventoryReport))},
      // live
      {"GET", "/api/v1/stream", Stream(api)},
  };
  for (auto& [method, path, handler] : routes) RETURN_IF_ERROR(server->Register(method, path, std::move(handler)));
  return absl::OkStatus();
}

}  // namespace http_api
