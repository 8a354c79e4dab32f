#include "metrics/grpc_interceptor.h"

#include <grpcpp/server_context.h>

#include <chrono>

#include "absl/strings/str_format.h"
#include "logging/log_format.h"
#include "spdlog/spdlog.h"

namespace metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The in-process channel's peer (the HTTP front door's calls): gRPC names no
// address for it ("unknown"; "inproc..." in some versions), while a network
// peer is always "ipv4:...", "ipv6:..." or "unix:...". trace_context_test
// checks the HTTP calls are told apart.
bool IsInProcess(const std::string& peer) { return peer == "unknown" || peer.rfind("inproc", 0) == 0; }

class CallInterceptor : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(ServiceMetrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        info_(info),
        method_index_(metrics != nullptr ? metrics->GrpcMethodIndex(info->method()) : 0),
        started_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = methods->GetRecvInitialMetadata();
      if (md != nullptr) {
        CallTrace trace = TraceOf(*md);
        trace_id_ = std::move(trace.trace_id);
        if (trace.present && trace_id_.empty() && metrics_ != nullptr) {
          metrics_->OnTraceparentMalformed(IsInProcess(info_->server_context()->peer()) ? TraceSource::kHttp
                                                                                         : TraceSource::kGrpc);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finished(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Finished(const grpc::Status& status) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    int code = static_cast<int>(status.error_code());
    if (metrics_ != nullptr) metrics_->OnGrpcCall(method_index_, code, seconds);
    spdlog::logger* access = logging::AccessLogger();
    if (access == nullptr || !access->should_log(spdlog::level::info)) return;
    logging::ScopedLogFields fields({{"method", info_->method()},
                                     {"code", std::to_string(code)},
                                     {"duration_ms", absl::StrFormat("%.3f", seconds * 1000)},
                                     {"peer", info_->server_context()->peer()},
                                     {"trace_id", trace_id_}});
    access->info("{} {}", info_->method(), status.ok() ? "OK" : status.error_message());
  }

  ServiceMetrics* const metrics_;
  grpc::experimental::ServerRpcInfo* const info_;
  const size_t method_index_;
  const std::chrono::steady_clock::time_point started_;
  std::string trace_id_;
};

}  // namespace

std::optional<std::string> TraceIdOf(std::string_view tp) {
  // version "-" trace-id(32) "-" parent-id(16) "-" flags(2); later versions may append "-..."
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return std::nullopt;
  std::string_view version = tp.substr(0, 2), trace = tp.substr(3, 32), parent = tp.substr(36, 16),
                   flags = tp.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace) || !IsLowerHex(parent) || !IsLowerHex(flags)) {
    return std::nullopt;
  }
  if (version == "00" && tp.size() != 55) return std::nullopt;
  if (trace == std::string(32, '0') || parent == std::string(16, '0')) return std::nullopt;
  return std::string(trace);
}

CallTrace TraceOf(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  CallTrace out;
  auto it = metadata.find("traceparent");
  if (it == metadata.end()) return out;
  out.present = true;
  std::string_view value(it->second.data(), it->second.size());
  if (std::optional<std::string> trace = TraceIdOf(value)) {
    out.traceparent = std::string(value);
    out.trace_id = std::move(*trace);
  }
  return out;
}

grpc::experimental::Interceptor* GrpcMetricsFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallInterceptor(metrics_, info);
}

}  // namespace metrics
