#include "rpc/in_flight.h"

#include <string_view>

#include "rpc/grpc_status.h"

namespace rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr std::string_view kOurServices = "/inventory.v1.";

// One per call of our services: holds its slot from arrival to the end of
// the call (the interceptor is destroyed with the call), or marks it refused.
class InFlightInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit InFlightInterceptor(InFlightLimit* limit) : limit_(limit), entered_(limit->TryEnter()) {}
  ~InFlightInterceptor() override {
    if (entered_) limit_->Leave();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      if (auto* md = methods->GetRecvInitialMetadata(); md != nullptr) {
        md->erase(kInFlightRefusedKey);  // only the server marks a call
        const std::string& hint = limit_->retry_after_text();
        if (!entered_) md->emplace(kInFlightRefusedKey, grpc::string_ref(hint.data(), hint.size()));
      }
    }
    methods->Proceed();
  }

 private:
  InFlightLimit* const limit_;
  const bool entered_;
};

}  // namespace

InFlightLimit::InFlightLimit(InFlightOptions options)
    : options_(options), retry_after_text_(std::to_string(options.retry_after_ms)) {}

bool InFlightLimit::TryEnter() {
  int now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (options_.calls_max > 0 && now > options_.calls_max) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void InFlightLimit::Leave() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }

grpc::experimental::Interceptor* InFlightInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Null: no interceptor for this call (health checking, reflection).
  if (std::string_view(info->method()).substr(0, kOurServices.size()) != kOurServices) return nullptr;
  return new InFlightInterceptor(limit_);
}

std::optional<grpc::Status> InFlightRefusal(grpc::ServerContextBase* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(kInFlightRefusedKey);
  if (it == md.end()) return std::nullopt;
  ctx->AddTrailingMetadata(kRetryPushbackKey, std::string(it->second.data(), it->second.size()));
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "too many requests in flight on this server; retry after the pushback");
}

}  // namespace rpc
