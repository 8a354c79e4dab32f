// The gRPC edge of authentication: every CommandService and QueryService call
// asks the gate first, before it validates or submits anything, so a refused
// call appends nothing and reads nothing.
//
// The gate also applies the server's bound on calls in flight
// (rpc/in_flight.h), first, with authentication on or off.
//
// Credentials come from metadata (`authorization: Bearer <jwt>`, `x-api-key`)
// or, over mTLS, the verified client certificate's subject. HTTP requests
// reach the services through an in-process channel with the same metadata,
// so this one gate applies to them too. Refusals answer UNAUTHENTICATED,
// PERMISSION_DENIED or RESOURCE_EXHAUSTED (with trailing metadata
// `grpc-retry-pushback-ms`), and are logged and counted.
//
// Why not a grpc::experimental server interceptor: in gRPC 1.51 a server
// interceptor cannot fail a call before its handler runs (only Hijack on the
// client side can), and an AuthMetadataProcessor runs only on secure
// channels, never on the in-process channel the HTTP edge uses. Health and
// reflection do not ask the gate and stay open.
//
// A gate made without an authenticator admits everything within the
// in-flight bound, with an empty principal (inventoryd then listens on
// loopback only).
//
// Thread-safety: Admit may be called from any thread.
#ifndef AUTH_GRPC_GATE_H_
#define AUTH_GRPC_GATE_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "rpc/grpc_status.h"

namespace auth {

using rpc::kRetryPushbackKey;
// The metadata that carries credentials; HTTP forwards its headers of the
// same (lowercase) names unchanged.
inline constexpr char kAuthorizationKey[] = "authorization";
inline constexpr char kApiKeyKey[] = "x-api-key";
// The HTTP edge's forwarded client certificate subject and the in-process
// secret that vouches for it (Credentials::forwarded_subject).
inline constexpr char kForwardedSubjectKey[] = "x-inventory-forwarded-subject";
inline constexpr char kEdgeSecretKey[] = "x-inventory-edge-secret";

struct Admission {
  grpc::Status status;    // OK or the refusal to finish the call with
  std::string principal;  // authenticated principal; empty when authentication is off
  bool ok() const { return status.ok(); }
};

class GrpcGate {
 public:
  // `authenticator` may be null (authentication off). REQUIRES: it outlives the gate.
  explicit GrpcGate(Authenticator* authenticator) : authenticator_(authenticator) {}

  bool enabled() const { return authenticator_ != nullptr; }
  // `method` is the full name: "/inventory.v1.CommandService/CreateItem".
  Admission Admit(grpc::ServerContextBase* ctx, std::string_view method) const;
  // One more message of an admitted stream of `method`: the rate limit
  // (Authenticator::ChargeRate). OK when authentication is off.
  absl::Status AdmitMessage(const Admission& admission, std::string_view method) const;

 private:
  Authenticator* const authenticator_;
};

// The actor to record for a call: the authenticated principal, or, with
// authentication off, what the request body says.
inline std::string ActorOf(const Admission& admission, const std::string& body_actor) {
  return admission.principal.empty() ? body_actor : admission.principal;
}

// A server stream refused before it started.
template <typename T>
class RefusedWriter final : public grpc::ServerWriteReactor<T> {
 public:
  explicit RefusedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

// A bidirectional stream refused before it started.
template <typename Request, typename Response>
class RefusedBidi final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedBidi(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace auth

#endif  // AUTH_GRPC_GATE_H_
