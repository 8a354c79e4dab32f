#include "tools/security_flags.h"

#include <grpcpp/security/server_credentials.h>
#include <pthread.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "base/durable_file.h"
#include "base/status.h"
#include "rpc/reloadable_tls.h"
#include "spdlog/spdlog.h"

namespace tools {

void AddSecurityFlags(CLI::App* serve, SecurityFlags& f) {
  auth::AuthOptions& a = f.auth;
  serve->add_option("--auth-jwt-key", a.jwt_public_key_files,
                    "PEM public key verifying JWTs (RSA: RS256, EC P-256: ES256); repeatable")
      ->envname("INVENTORY_AUTH_JWT_KEY");
  serve->add_option("--auth-jwt-hmac-secret", a.jwt_hmac_secret_file, "File holding the HS256 secret (>= 32 bytes)")
      ->envname("INVENTORY_AUTH_JWT_HMAC_SECRET");
  serve->add_option("--auth-jwks", a.jwks_file, "JWKS file of JWT keys (RSA and EC P-256)")->envname("INVENTORY_AUTH_JWKS");
  serve->add_option("--auth-api-keys", a.api_keys_file,
                    "API key file: lines `sha256:<hex> <principal> [role,...]` (docs/security.md)")
      ->envname("INVENTORY_AUTH_API_KEYS");
  serve->add_option("--auth-policy", a.policy_file, "Policy file: `role` and `grant` lines (docs/security.md)")
      ->envname("INVENTORY_AUTH_POLICY");
  serve->add_option("--auth-issuer", a.jwt.issuer, "Required JWT iss")->envname("INVENTORY_AUTH_ISSUER");
  serve->add_option("--auth-audience", a.jwt.audience, "Required member of JWT aud")->envname("INVENTORY_AUTH_AUDIENCE");
  serve->add_option("--auth-clock-skew-ms", a.jwt.clock_skew_ms, "Tolerance on JWT exp/nbf, ms")
      ->envname("INVENTORY_AUTH_CLOCK_SKEW_MS")->check(CLI::Range(std::int64_t{0}, auth::kClockSkewMsMax))->capture_default_str();
  serve->add_option("--rate-write-per-s", a.rate.writes.per_second, "Writes per second per principal (0: no limit)")
      ->envname("INVENTORY_RATE_WRITE_PER_S")->check(CLI::NonNegativeNumber)->capture_default_str();
  serve->add_option("--rate-write-burst", a.rate.writes.burst, "Write bucket size per principal")
      ->envname("INVENTORY_RATE_WRITE_BURST")->check(CLI::PositiveNumber)->capture_default_str();
  serve->add_option("--rate-read-per-s", a.rate.reads.per_second, "Reads per second per principal (0: no limit)")
      ->envname("INVENTORY_RATE_READ_PER_S")->check(CLI::NonNegativeNumber)->capture_default_str();
  serve->add_option("--rate-read-burst", a.rate.reads.burst, "Read bucket size per principal")
      ->envname("INVENTORY_RATE_READ_BURST")->check(CLI::PositiveNumber)->capture_default_str();
  serve->add_option("--tls-cert", f.tls_cert_file, "PEM certificate chain: serve gRPC over TLS")
      ->envname("INVENTORY_TLS_CERT");
  serve->add_option("--tls-key", f.tls_key_file, "PEM private key of --tls-cert")->envname("INVENTORY_TLS_KEY");
  serve->add_option("--tls-client-ca", f.tls_client_ca_file,
                    "PEM CA bundle: require client certificates (mTLS); the subject becomes the principal")
      ->envname("INVENTORY_TLS_CLIENT_CA");
  serve->add_option("--http-tls-cert", f.http_tls.cert_file,
                    "PEM certificate chain: serve HTTP (--http-listen) over TLS; re-read on SIGHUP")
      ->envname("INVENTORY_HTTP_TLS_CERT");
  serve->add_option("--http-tls-key", f.http_tls.key_file, "PEM private key of --http-tls-cert")
      ->envname("INVENTORY_HTTP_TLS_KEY");
  serve->add_option("--http-tls-client-ca", f.http_tls.client_ca_file,
                    "PEM CA bundle: require HTTP client certificates (mTLS); the subject becomes the principal")
      ->envname("INVENTORY_HTTP_TLS_CLIENT_CA");
  serve->add_option("--kafka-config", f.kafka_config_file,
                    "File of librdkafka security settings for every Kafka client: key=value lines, "
                    "security.protocol, sasl.*, ssl.* (docs/security.md); values are never printed")
      ->envname("INVENTORY_KAFKA_CONFIG");
  serve->add_option("--requests-in-flight-max", f.in_flight.calls_max,
                    "Most gRPC calls and HTTP requests to the services in flight at once, streams included; past it "
                    "RESOURCE_EXHAUSTED / HTTP 429 with a retry hint (0: no bound, nothing counted)")
      ->envname("INVENTORY_REQUESTS_IN_FLIGHT_MAX")->check(CLI::NonNegativeNumber)->capture_default_str();
  serve->add_flag("--insecure-no-auth", f.insecure_no_auth,
                  "Allow a non-loopback --listen without authentication (anyone reaching the port may write)")
      ->envname("INVENTORY_INSECURE_NO_AUTH");
}

void ApplyGrpcLimits(const GrpcLimits& limits, grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(limits.receive_message_bytes_max);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.concurrent_streams_max);
  builder->AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, limits.metadata_bytes_max);
}

bool IsLoopbackListen(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void BlockReloadSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

namespace {

// Null with no --tls-cert: plaintext gRPC.
absl::StatusOr<std::unique_ptr<rpc::ReloadableServerTls>> GrpcTls(const SecurityFlags& f) {
  if (f.tls_cert_file.empty() != f.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (f.tls_cert_file.empty()) {
    if (!f.tls_client_ca_file.empty()) return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    return std::unique_ptr<rpc::ReloadableServerTls>();
  }
  return rpc::ReloadableServerTls::Create({f.tls_cert_file, f.tls_key_file, f.tls_client_ca_file});
}

}  // namespace

absl::StatusOr<std::unique_ptr<Security>> Security::Create(const SecurityFlags& f,
                                                           const std::vector<std::string>& listens,
                                                           const base::Clock* clock) {
  std::unique_ptr<Security> s(new Security());
  auth::AuthOptions options = f.auth;
  options.accept_client_certificates = !f.tls_client_ca_file.empty() || !f.http_tls.client_ca_file.empty();
  ASSIGN_OR_RETURN(s->grpc_tls_, GrpcTls(f));
  s->credentials_ = s->grpc_tls_ ? s->grpc_tls_->credentials() : grpc::InsecureServerCredentials();
  if (!f.kafka_config_file.empty()) {
    ASSIGN_OR_RETURN(s->kafka_settings_, eventlog::ReadKafkaSettings(f.kafka_config_file));
  }
  s->http_tls_ = f.http_tls;
  s->in_flight_ = std::make_unique<rpc::InFlightLimit>(f.in_flight);
  if (options.Enabled()) {
    ASSIGN_OR_RETURN(s->authenticator_, auth::Authenticator::Create(options, clock));
  }
  Security* raw = s.get();
  if (s->grpc_tls_) s->OnReload("gRPC TLS certificate", [raw] { return raw->grpc_tls_->Reload(); });
  s->reload_thread_ = std::thread([raw] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    int signal_number = 0;
    while (sigwait(&set, &signal_number) == 0 && !raw->stopping_.load()) raw->ReloadAll();
  });
  if (!options.Enabled()) {
    for (const std::string& listen : listens) {
      if (listen.empty() || IsLoopbackListen(listen) || f.insecure_no_auth) continue;
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to listen on ", listen, " without authentication: configure --auth-jwt-key, "
          "--auth-jwt-hmac-secret, --auth-jwks, --auth-api-keys, --tls-client-ca or --http-tls-client-ca "
          "(docs/security.md), "
          "listen on 127.0.0.1, or pass --insecure-no-auth"));
    }
    spdlog::warn("authentication is off: every caller may read and write");
  }
  return s;
}

void Security::ReloadAll() {
  if (authenticator_ != nullptr) {
    absl::Status reloaded = authenticator_->Reload();
    if (reloaded.ok()) {
      spdlog::info("SIGHUP: authentication files reloaded");
    } else {
      spdlog::error("SIGHUP: reload failed, the previous configuration stays in force: {}", reloaded.ToString());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [what, reload] : reloads_) {
    absl::Status reloaded = reload();
    if (reloaded.ok()) {
      spdlog::info("SIGHUP: {} reloaded", what);
    } else {
      spdlog::error("SIGHUP: {} not reloaded, the previous one stays in use: {}", what, reloaded.ToString());
    }
  }
}

void Security::OnReload(std::string what, std::function<absl::Status()> reload) {
  std::lock_guard<std::mutex> lock(mu_);
  reloads_.emplace_back(std::move(what), std::move(reload));
}

void Security::ClearReloads() {
  std::lock_guard<std::mutex> lock(mu_);
  reloads_.clear();
}

Security::~Security() {
  if (!reload_thread_.joinable()) return;
  stopping_.store(true);
  pthread_kill(reload_thread_.native_handle(), SIGHUP);
  reload_thread_.join();
}

}  // namespace tools
