// The one mapping from our operating errors (absl::Status, codes chosen by
// Abseil's retry guidance) to gRPC statuses at the API edge, shared by the
// command API (command-api/command_service.h) and the query API
// (query-api/query_service.h, stream_updates.h).
//
// Its own component rather than part of base/ (which includes nothing of
// gRPC) or of command-api/ (which the query API must not depend on: it would
// pull in the writer and the event log).
//
// Rejection details (the "inventory-rejection-bin" trailer) are not added
// here: only the command API has them, and it attaches them itself
// (command-api/command_service.cc) before finishing with ToGrpc.
//
// Thread-safety: pure functions.
#ifndef RPC_GRPC_STATUS_H_
#define RPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace rpc {

// The trailing metadata of a RESOURCE_EXHAUSTED refusal saying when to try
// again, in milliseconds (gRPC's retry pushback; the HTTP edge turns it into
// Retry-After): the rate limits' (auth/grpc_gate.h) and the in-flight
// bound's (rpc/in_flight.h).
inline constexpr char kRetryPushbackKey[] = "grpc-retry-pushback-ms";

// The same code (absl and gRPC share the canonical code numbers 0..16) and
// message. A code outside 0..16 (absl::Status accepts any int) becomes
// UNKNOWN, keeping the message.
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace rpc

#endif  // RPC_GRPC_STATUS_H_
