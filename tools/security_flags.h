// inventoryd's security flags and their wiring: the Authenticator (JWT keys,
// API keys, policy, rate limits), the bound on calls in flight, the gRPC
// server credentials (TLS, mTLS, rpc/reloadable_tls.h),
// the HTTP front door's TLS files, the SIGHUP reload of the key and policy
// files (and of what OnReload adds), and the safe default: with
// no authentication configured the service listens on loopback only, and a
// non-loopback --listen without authentication refuses to start unless
// --insecure-no-auth. Every flag has an INVENTORY_* environment variable.
//
// Thread-safety: Security is built and destroyed on the main thread; its
// reload thread calls Authenticator::Reload, the gRPC TLS reload and what
// OnReload added.
#ifndef TOOLS_SECURITY_FLAGS_H_
#define TOOLS_SECURITY_FLAGS_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "auth/authenticator.h"
#include "eventlog/kafka_settings.h"
#include "http-api/http_server.h"
#include "rpc/in_flight.h"
#include "rpc/reloadable_tls.h"

namespace tools {

struct SecurityFlags {
  auth::AuthOptions auth;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  http_api::HttpTlsOptions http_tls;  // --http-tls-cert, --http-tls-key, --http-tls-client-ca
  bool insecure_no_auth = false;
  std::string kafka_config_file;  // eventlog/kafka_settings.h
  rpc::InFlightOptions in_flight;  // --requests-in-flight-max
};

void AddSecurityFlags(CLI::App* serve, SecurityFlags& f);

// The gRPC server's transport limits (docs/security.md, "Limits"), each
// tested in tests/e2e_auth_test.py.
struct GrpcLimits {
  // Largest request message, bytes; past it the call ends RESOURCE_EXHAUSTED
  // before any handler runs. Default 4 MiB.
  int receive_message_bytes_max = 4 << 20;
  // Most calls at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS);
  // a client's further calls wait until one ends. Default 256.
  int concurrent_streams_max = 256;
  // Largest request metadata (the HTTP/2 header list), bytes; past it the
  // call is refused. Default 16 KiB (a JWT may take 8 KiB).
  int metadata_bytes_max = 16 << 10;
};

void ApplyGrpcLimits(const GrpcLimits& limits, grpc::ServerBuilder* builder);

// True for 127.0.0.0/8, ::1 and localhost (`listen` is host:port).
bool IsLoopbackListen(const std::string& listen);

class Security {
 public:
  // Validates the flags against every listen address (gRPC, HTTP; empty
  // ones are skipped), loads every key file, builds the credentials and
  // starts the SIGHUP reload thread.
  // REQUIRES: SIGHUP is blocked in every thread (BlockReloadSignal, before any
  // thread starts); clock outlives the result.
  static absl::StatusOr<std::unique_ptr<Security>> Create(const SecurityFlags& f,
                                                          const std::vector<std::string>& listens,
                                                          const base::Clock* clock);
  ~Security();

  // Null when authentication is off.
  auth::Authenticator* authenticator() const { return authenticator_.get(); }
  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }
  // The HTTP front door's TLS (--http-tls-*): the gRPC flags' twins, apart
  // so that HTTP may stay plain (kubelet probes, a mesh) while gRPC is mTLS.
  const http_api::HttpTlsOptions& http_tls() const { return http_tls_; }
  // --kafka-config: for every Kafka client (log, order consumer, producers).
  const eventlog::KafkaSettings& kafka_settings() const { return kafka_settings_; }
  // The bound on calls in flight (--requests-in-flight-max), with
  // authentication on or off: its interceptor goes on the gRPC server.
  rpc::InFlightLimit* in_flight() const { return in_flight_.get(); }

  // Also run `reload` on SIGHUP, after the authentication files; an error is
  // logged naming `what`, and the reloader keeps its old state.
  // ClearReloads drops them all (before what they reload goes away).
  void OnReload(std::string what, std::function<absl::Status()> reload);
  void ClearReloads();

 private:
  Security() = default;
  void ReloadAll();
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<rpc::ReloadableServerTls> grpc_tls_;  // null: plaintext gRPC
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  http_api::HttpTlsOptions http_tls_;
  eventlog::KafkaSettings kafka_settings_;
  std::unique_ptr<rpc::InFlightLimit> in_flight_;
  std::mutex mu_;  // guards reloads_
  std::vector<std::pair<std::string, std::function<absl::Status()>>> reloads_;
  std::atomic<bool> stopping_{false};
  std::thread reload_thread_;
};

// Adds SIGHUP to the calling thread's blocked set (inherited by threads it starts).
void BlockReloadSignal();

}  // namespace tools

#endif  // TOOLS_SECURITY_FLAGS_H_
