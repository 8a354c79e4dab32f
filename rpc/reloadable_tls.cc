#include "rpc/reloadable_tls.h"

#include <fcntl.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "base/durable_file.h"
#include "base/status.h"

namespace rpc {
namespace fs = std::filesystem;
namespace {

constexpr char kKeyName[] = "key.pem";
constexpr char kCertName[] = "cert.pem";
constexpr char kCaName[] = "ca.pem";
constexpr char kCurrent[] = "current";

struct Material {
  std::string cert;
  std::string key;
  std::string ca;  // empty: no client certificates asked for
};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;
using UniquePkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

UniqueBio MemoryBio(const std::string& pem) { return UniqueBio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

UniqueX509 FirstCertificate(const std::string& pem) {
  UniqueBio bio = MemoryBio(pem);
  return UniqueX509(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// The files' bytes, each checked: what Publish writes is exactly what was checked.
absl::StatusOr<Material> ReadAndCheck(const ServerTlsFiles& f) {
  Material m;
  ASSIGN_OR_RETURN(m.cert, base::ReadWholeFile(f.cert_file));
  ASSIGN_OR_RETURN(m.key, base::ReadWholeFile(f.key_file));
  if (!f.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(m.ca, base::ReadWholeFile(f.client_ca_file));
  }
  UniqueX509 leaf = FirstCertificate(m.cert);
  if (leaf == nullptr) return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", f.cert_file, ": no PEM certificate"));
  UniqueBio key_bio = MemoryBio(m.key);
  UniquePkey key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (key == nullptr) return absl::InvalidArgumentError(absl::StrCat("TLS key ", f.key_file, ": no PEM private key"));
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", f.key_file, " does not belong to the certificate in ", f.cert_file));
  }
  if (!f.client_ca_file.empty() && FirstCertificate(m.ca) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("TLS client CA ", f.client_ca_file, ": no PEM certificate"));
  }
  return m;
}

absl::Status Unavailable(const std::string& what, const fs::path& path, int error) {
  return absl::UnavailableError(absl::StrCat("TLS copy: cannot ", what, " ", path.string(), ": ", std::strerror(error)));
}

// Creates `path` (mode 0600, must not exist) holding `bytes`, modified at `mtime_s`.
absl::Status WritePrivateFile(const fs::path& path, const std::string& bytes, std::time_t mtime_s) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("create", path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Unavailable("write", path, error);
    }
    done += static_cast<size_t>(n);
  }
  struct timespec times[2] = {{mtime_s, 0}, {mtime_s, 0}};
  if (::futimens(fd, times) != 0) {
    int error = errno;
    ::close(fd);
    return Unavailable("set the time of", path, error);
  }
  if (::close(fd) != 0) return Unavailable("close", path, errno);
  return absl::OkStatus();
}

fs::path GenerationDir(const fs::path& dir, int generation) { return dir / absl::StrCat("gen-", generation); }

}  // namespace

absl::StatusOr<std::unique_ptr<ReloadableServerTls>> ReloadableServerTls::Create(const ServerTlsFiles& files,
                                                                                 ReloadableTlsOptions options) {
  if (options.refresh_interval_s == 0) return absl::InvalidArgumentError("TLS refresh interval must be at least 1 s");
  std::error_code ec;
  fs::path parent = options.parent_dir.empty() ? fs::temp_directory_path(ec) : options.parent_dir;
  if (ec) return absl::UnavailableError("TLS copy: no temporary directory: " + ec.message());
  std::string dir = (parent / "inventoryd-tls-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return Unavailable("make a directory in", parent, errno);
  std::unique_ptr<ReloadableServerTls> tls(new ReloadableServerTls(files, std::move(options), dir));
  RETURN_IF_ERROR(tls->Reload());
  const fs::path current = tls->dir_ / kCurrent;
  const bool mtls = !files.client_ca_file.empty();
  tls->provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      (current / kKeyName).string(), (current / kCertName).string(), mtls ? (current / kCaName).string() : "",
      tls->options_.refresh_interval_s);
  grpc::experimental::TlsServerCredentialsOptions credentials(tls->provider_);
  credentials.watch_identity_key_cert_pairs();
  if (mtls) {
    credentials.watch_root_certs();
    credentials.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    credentials.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  tls->credentials_ = grpc::experimental::TlsServerCredentials(credentials);
  if (tls->credentials_ == nullptr) return absl::InternalError("gRPC refused the TLS server credentials");
  return tls;
}

absl::Status ReloadableServerTls::Reload() {
  ASSIGN_OR_RETURN(Material m, ReadAndCheck(files_));
  const int next = generation_ + 1;
  const fs::path gen = GenerationDir(dir_, next);
  std::error_code ec;
  fs::remove_all(gen, ec);  // left by a Reload that failed half-way
  if (::mkdir(gen.c_str(), 0700) != 0) return Unavailable("make", gen, errno);
  // A second past the previous generation, so that gRPC's before/after time
  // check tells the two apart (header comment).
  const std::time_t mtime_s = std::max(std::time(nullptr), published_mtime_s_ + 1);
  RETURN_IF_ERROR(WritePrivateFile(gen / kKeyName, m.key, mtime_s));
  RETURN_IF_ERROR(WritePrivateFile(gen / kCertName, m.cert, mtime_s));
  if (!m.ca.empty()) RETURN_IF_ERROR(WritePrivateFile(gen / kCaName, m.ca, mtime_s));
  const fs::path link_tmp = dir_ / "current.tmp";
  fs::remove(link_tmp, ec);
  fs::create_directory_symlink(gen.filename(), link_tmp, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("TLS copy: cannot link ", link_tmp.string(), ": ", ec.message()));
  fs::rename(link_tmp, dir_ / kCurrent, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("TLS copy: cannot swap ", dir_.string(), "/current: ", ec.message()));
  // Readers go through `current`; one that still holds the old generation's
  // path fails to open it and retries on the new one.
  if (generation_ > 0) fs::remove_all(GenerationDir(dir_, generation_), ec);
  generation_ = next;
  published_mtime_s_ = mtime_s;
  return absl::OkStatus();
}

ReloadableServerTls::~ReloadableServerTls() {
  credentials_.reset();
  provider_.reset();  // joins gRPC's refresh thread once no server holds it
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace rpc
