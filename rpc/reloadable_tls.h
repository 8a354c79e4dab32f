// gRPC server TLS whose certificate, key and client CA can be replaced while
// the server runs (inventoryd: on SIGHUP), without dropping a connection:
// open connections keep the certificate they handshook with, new ones get
// the new one.
//
// gRPC 1.51 offers no provider a program can push new key material into:
// StaticDataCertificateProvider never changes, and FileWatcherCertificateProvider
// re-reads its files on a timer. So Reload reads the operator's files, checks
// them (each PEM parses, the key belongs to the certificate), and only then
// publishes the very bytes it checked into a private directory that a
// FileWatcherCertificateProvider watches; gRPC takes them up at its next
// refresh, within `refresh_interval_s`. The operator's files are never
// watched directly, so a half-copied certificate is never served, and a
// reload that fails keeps the previous material in use.
//
// Layout of the private directory (mode 0700, made with mkdtemp, removed by
// the destructor; files mode 0600):
//
//   dir        := <parent>/inventoryd-tls-XXXXXX
//   dir/gen-N/ := key.pem cert.pem [ca.pem]     one generation, N = 1, 2, ...
//   dir/current -> gen-N                        replaced by rename: atomic
//
// Why a symlink and distinct times: gRPC reads key.pem and cert.pem as two
// files, and takes a pair only if each file's modification time (whole
// seconds) is the same before and after the reads. Every generation's files
// carry a time a second past the previous generation's, and the watcher
// reads through `current`, so a read that straddles the swap sees a time
// change and is retried: a key is never paired with another certificate.
//
// Thread-safety: Reload from one thread at a time (inventoryd's reload
// thread); credentials() from any.
#ifndef RPC_RELOADABLE_TLS_H_
#define RPC_RELOADABLE_TLS_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rpc {

struct ServerTlsFiles {
  std::string cert_file;       // PEM certificate chain, leaf first
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // PEM CA bundle; non-empty: require and verify client certificates (mTLS)
};

struct ReloadableTlsOptions {
  // How often gRPC re-reads the published copy, seconds: a reload is in use
  // for new connections at most this long after Reload returns. Default 1.
  unsigned int refresh_interval_s = 1;
  // Where the private directory is made; empty: the system's temporary
  // directory ($TMPDIR, else /tmp). Default empty.
  std::filesystem::path parent_dir;
};

class ReloadableServerTls {
 public:
  // Reads, checks and publishes `files`, then builds the credentials. Errors
  // name the file and what is wrong with it (INVALID_ARGUMENT), or the
  // private directory (UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<ReloadableServerTls>> Create(const ServerTlsFiles& files,
                                                                     ReloadableTlsOptions options = {});
  ~ReloadableServerTls();
  ReloadableServerTls(const ReloadableServerTls&) = delete;
  ReloadableServerTls& operator=(const ReloadableServerTls&) = delete;

  // For ServerBuilder::AddListeningPort; keeps the provider alive.
  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }

  // Re-reads the files given to Create. OK: published, in use for new
  // connections within refresh_interval_s. Error: nothing published, the
  // previous certificate stays in use.
  absl::Status Reload();

  // The published generation (1 after Create; each successful Reload adds 1).
  int generation() const { return generation_; }
  const std::filesystem::path& directory() const { return dir_; }

 private:
  ReloadableServerTls(ServerTlsFiles files, ReloadableTlsOptions options, std::filesystem::path dir)
      : files_(std::move(files)), options_(std::move(options)), dir_(std::move(dir)) {}
  absl::Status Publish();

  const ServerTlsFiles files_;
  const ReloadableTlsOptions options_;
  const std::filesystem::path dir_;
  int generation_ = 0;
  std::time_t published_mtime_s_ = 0;  // the newest generation's file time
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

}  // namespace rpc

#endif  // RPC_RELOADABLE_TLS_H_
