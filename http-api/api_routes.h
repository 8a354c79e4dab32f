// The inventory API over HTTP/JSON (docs/http.md, docs/openapi.yaml): every
// route a thin mapping onto one CommandService or QueryService method,
// called through a gRPC channel, normally the in-process channel of the
// server that hosts the services. So HTTP and gRPC share validation,
// idempotency, rejections and read-your-writes, with no second code path.
//
// Per request: the body (protobuf JSON of the method's request message),
// query parameters onto its scalar fields, {path} segments onto the fields
// the route names (a body that says otherwise is refused), Idempotency-Key
// onto context.command_id, X-Consistency-Token or ?minToken= onto
// read.min_token; then the asynchronous stub call with the server's
// request_ms deadline, cancelled if the client goes away. The answer is the
// response message as JSON, with X-Consistency-Token on writes; an error is
// HttpError (codec.h) with the status grpc-gateway gives its code.
//
// GET /api/v1/stream is StreamInventoryUpdates as Server-Sent Events: query
// parameters are the request's filters (skus, warehouses, kinds repeated;
// lowStockOnly, fromBeginning); each update is one event "update" whose data
// is the InventoryUpdate JSON and whose id is the stream position after it
// (codec.h StreamPosition); Last-Event-ID (or ?lastEventId=) resumes right
// after that id, with no gap and no repeat; a comment line every
// heartbeat_ms keeps proxies from closing an idle stream; a stream the
// service ends sends one event "error" with the HttpError, then closes.
//
// Thread-safety: handlers run on the server's connection strands; stub
// completions on gRPC's threads, answering through the Exchange.
#ifndef HTTP_API_API_ROUTES_H_
#define HTTP_API_API_ROUTES_H_

#include <grpcpp/channel.h>

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "http-api/http_server.h"

namespace http_api {

struct ApiOptions {
  // GET /ready: OK when this process serves (its log is open and, with the
  // query role, the views are caught up within the stated bound); otherwise
  // the reason, answered 503. Unset: always ready.
  std::function<absl::Status()> ready;
  // With authentication on, auth::Authenticator::edge_secret(): sent with a
  // request's verified client certificate subject (mTLS), which then is the
  // principal as over gRPC mTLS. Empty: no subject is forwarded.
  std::string edge_secret;
};

// Registers /health, /ready and every /api/v1 route on `server`.
// REQUIRES: before server->Start(); channel outlives the server's Stop.
absl::Status RegisterApiRoutes(HttpServer* server, std::shared_ptr<grpc::Channel> channel, ApiOptions options = {});

}  // namespace http_api

#endif  // HTTP_API_API_ROUTES_H_
