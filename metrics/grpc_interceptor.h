// A gRPC server interceptor: per call, inventory_grpc_requests_total{method,
// code} and inventory_grpc_request_duration_seconds{method} (from the call's
// arrival to its status being sent), an access log line (logging/
// log_format.h, logger "access": method, code, duration_ms, peer, trace_id;
// nothing is formatted while that logger is off), and the W3C traceparent
// header's trace id.
//
// The HTTP front door calls the services through an in-process channel, so
// its calls are counted here too (peer "inproc").
//
// Thread-safety: the factory is shared by every call; each interceptor serves
// one call.
#ifndef METRICS_GRPC_INTERCEPTOR_H_
#define METRICS_GRPC_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

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
