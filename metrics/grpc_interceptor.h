// A gRPC server interceptor: per call, inventory_grpc_requests_total{method,
// code} and inventory_grpc_request_duration_seconds{method} (from the call's
// arrival to its status being sent), an access log line (logging/
// log_format.h, logger "access": method, code, duration_ms, peer, trace_id;
// nothing is formatted while that logger is off), and the W3C traceparent
// metadata: its trace id goes into the access log; a malformed one is
// ignored and counted (inventory_traceparent_malformed_total, source "http"
// for calls over the in-process channel, else "grpc"). The services read the
// valid value again with TraceOf to stamp it on their commands.
//
// The HTTP front door calls the services through an in-process channel, so
// its calls are counted here too (peer "unknown").
//
// Thread-safety: the factory is shared by every call; each interceptor serves
// one call.
#ifndef METRICS_GRPC_INTERCEPTOR_H_
#define METRICS_GRPC_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/service_metrics.h"

namespace metrics {

// The trace id (32 lowercase hex digits) of a W3C traceparent value
// "00-<trace-id>-<parent-id>-<flags>", or nullopt when malformed (version ff,
// wrong lengths, non-hex or all-zero ids).
std::optional<std::string> TraceIdOf(std::string_view traceparent);

// A call's `traceparent` metadata: absent, valid (its value and trace id), or
// present but malformed (to be ignored and counted).
struct CallTrace {
  bool present = false;
  std::string traceparent;  // the valid value; "" when absent or malformed
  std::string trace_id;     // its trace id
};
CallTrace TraceOf(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

class GrpcMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` may be null: the access log only. REQUIRES: outlives the server.
  explicit GrpcMetricsFactory(ServiceMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServiceMetrics* const metrics_;
};

}  // namespace metrics

#endif  // METRICS_GRPC_INTERCEPTOR_H_
