// A global bound on the calls of our services (inventory.v1.*) in flight at
// once, gRPC and HTTP alike: the HTTP front door reaches the services over
// the in-process channel, so its requests are these same calls.
//
// gRPC 1.51's server interceptors see every call from its arrival to its end
// but cannot fail one before its handler runs; the services' handlers, in
// turn, all ask the auth gate (auth/grpc_gate.h) before they do anything. So
// the work is split:
//   * InFlightInterceptorFactory (installed on the server) takes a slot when a
//     call arrives and gives it back when the call is over (its interceptor
//     lives exactly as long as the call). When no slot is free it marks the
//     call, in the call's received metadata, as refused; a mark a client sent
//     itself is removed first, so only the server can set it.
//   * InFlightRefusal, called first by the gate, turns a marked call into
//     RESOURCE_EXHAUSTED with trailing `grpc-retry-pushback-ms` (HTTP: 429
//     with Retry-After), before authentication, so a refusal costs next to
//     nothing and reads or appends nothing.
// Health checking and reflection are neither counted nor refused, so probes
// still answer under overload. Streams count for as long as they are open.
//
// Thread-safety: every method from any thread; the factory is shared by all
// calls, each interceptor serves one call.
#ifndef RPC_IN_FLIGHT_H_
#define RPC_IN_FLIGHT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace rpc {

// The metadata key the interceptor sets on a refused call; its value is the
// retry hint in milliseconds.
inline constexpr char kInFlightRefusedKey[] = "x-inventory-in-flight-refused";

struct InFlightOptions {
  // Most calls of inventory.v1 services in flight at once, streams included;
  // 0: no bound. Default 4096 (at gRPC's 4 MiB request bound, a full server
  // holds at most 16 GiB of requests; typical requests are a few hundred bytes).
  int calls_max = 4096;
  // The retry hint of a refusal, ms (grpc-retry-pushback-ms; HTTP Retry-After
  // rounds it up to whole seconds). Default 100.
  int retry_after_ms = 100;
};

class InFlightLimit {
 public:
  explicit InFlightLimit(InFlightOptions options = {});

  // True: a slot is taken, to be given back with one Leave.
  bool TryEnter();
  void Leave();

  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Calls refused for want of a slot, since start.
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  const InFlightOptions& options() const { return options_; }
  // options().retry_after_ms as text, alive as long as this (metadata refers to it).
  const std::string& retry_after_text() const { return retry_after_text_; }

 private:
  const InFlightOptions options_;
  const std::string retry_after_text_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::uint64_t> refused_{0};
};

class InFlightInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // REQUIRES: `limit` outlives the server.
  explicit InFlightInterceptorFactory(InFlightLimit* limit) : limit_(limit) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  InFlightLimit* const limit_;
};

// The status to end the call with when the interceptor refused it (and the
// retry hint added to its trailing metadata), or nullopt.
std::optional<grpc::Status> InFlightRefusal(grpc::ServerContextBase* ctx);

}  // namespace rpc

#endif  // RPC_IN_FLIGHT_H_
