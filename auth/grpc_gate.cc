#include "auth/grpc_gate.h"

#include <grpcpp/security/auth_context.h>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "rpc/in_flight.h"

namespace auth {
namespace {

std::optional<std::string> Metadata(const grpc::ServerContextBase* ctx, const char* key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

Credentials CredentialsOf(const grpc::ServerContextBase* ctx) {
  Credentials c;
  if (std::optional<std::string> header = Metadata(ctx, kAuthorizationKey)) {
    // RFC 6750: the scheme is case-insensitive; anything else is still a
    // (malformed) bearer attempt, refused by the verifier.
    std::string scheme = header->substr(0, 7);
    c.bearer_token = absl::AsciiStrToLower(scheme) == "bearer " ? header->substr(7) : *header;
  }
  c.api_key = Metadata(ctx, kApiKeyKey);
  c.forwarded_subject = Metadata(ctx, kForwardedSubjectKey);
  c.forwarded_secret = Metadata(ctx, kEdgeSecretKey);
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  if (auth && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> subject = auth->FindPropertyValues("x509_subject");
    if (!subject.empty()) c.client_cert_subject = std::string(subject[0].data(), subject[0].size());
  }
  return c;
}

grpc::StatusCode CodeOf(absl::StatusCode code) { return static_cast<grpc::StatusCode>(code); }

}  // namespace

Admission GrpcGate::Admit(grpc::ServerContextBase* ctx, std::string_view method) const {
  // The server-wide in-flight bound first: a refusal there costs no token check.
  if (std::optional<grpc::Status> refused = rpc::InFlightRefusal(ctx)) return {*refused, {}};
  if (authenticator_ == nullptr) return {};
  Decision d = authenticator_->Decide(CredentialsOf(ctx), method);
  if (d.status.ok()) return {grpc::Status::OK, std::move(d.identity.principal)};
  std::string message(d.status.message());
  if (d.status.code() == absl::StatusCode::kResourceExhausted) {
    ctx->AddTrailingMetadata(kRetryPushbackKey, std::to_string(d.retry_after_ms));
  }
  spdlog::warn("auth: refused {} from {} ({}): {}", method, ctx->peer(),
               d.identity.principal.empty() ? "unauthenticated" : d.identity.principal, message);
  return {grpc::Status(CodeOf(d.status.code()), message), {}};
}

absl::Status GrpcGate::AdmitMessage(const Admission& admission, std::string_view method) const {
  if (authenticator_ == nullptr) return absl::OkStatus();
  std::int64_t retry_after_ms = 0;
  return authenticator_->ChargeRate(admission.principal, KindOf(method), retry_after_ms);
}

}  // namespace auth
