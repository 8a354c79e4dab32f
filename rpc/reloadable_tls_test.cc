// ReloadableServerTls: what it publishes, and what it refuses to. The
// handshake with the new certificate and the connection that keeps the old
// one are tested over real gRPC in tests/e2e_auth_test.py
// (test_grpc_certificate_reload_on_sighup_keeps_open_connections).
#include "rpc/reloadable_tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "base/durable_file.h"

namespace rpc {
namespace {
namespace fs = std::filesystem;

std::string Pem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, object);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

// A self-signed P-256 certificate for CN=<cn> and its key, PEM.
struct Pair {
  std::string cert;
  std::string key;
};
Pair SelfSigned(const char* cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  Pair p{Pem([](BIO* b, void* o) { return PEM_write_bio_X509(b, static_cast<X509*>(o)); }, x),
         Pem([](BIO* b, void* o) {
               return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(o), nullptr, nullptr, 0, nullptr, nullptr);
             }, key)};
  X509_free(x);
  EVP_PKEY_free(key);
  return p;
}

void Write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class ReloadableTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("reloadable_tls_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "private");
    files_ = {(root_ / "cert.pem").string(), (root_ / "key.pem").string(), ""};
    Install(first_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Install(const Pair& p) {
    Write(files_.cert_file, p.cert);
    Write(files_.key_file, p.key);
  }
  std::unique_ptr<ReloadableServerTls> Make() {
    auto tls = ReloadableServerTls::Create(files_, {.parent_dir = root_ / "private"});
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? std::move(*tls) : nullptr;
  }
  static std::string Published(const ReloadableServerTls& tls, const char* name) {
    return *base::ReadWholeFile(tls.directory() / "current" / name);
  }
  static time_t MtimeOf(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mtime;
  }

  fs::path root_;
  ServerTlsFiles files_;
  Pair first_ = SelfSigned("first");
  Pair second_ = SelfSigned("second");
};

TEST_F(ReloadableTlsTest, PublishesTheCheckedBytesPrivately) {
  auto tls = Make();
  ASSERT_NE(tls, nullptr);
  EXPECT_NE(tls->credentials(), nullptr);
  EXPECT_EQ(tls->generation(), 1);
  EXPECT_EQ(Published(*tls, "cert.pem"), first_.cert);
  EXPECT_EQ(Published(*tls, "key.pem"), first_.key);
  EXPECT_FALSE(fs::exists(tls->directory() / "current" / "ca.pem"));
  EXPECT_EQ(fs::status(tls->directory()).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(tls->directory() / "current" / "key.pem").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(ReloadableTlsTest, ReloadSwapsTheGenerationWithALaterFileTime) {
  auto tls = Make();
  ASSERT_NE(tls, nullptr);
  time_t before = MtimeOf(tls->directory() / "current" / "key.pem");
  fs::path old_generation = fs::read_symlink(tls->directory() / "current");
  Install(second_);
  ASSERT_TRUE(tls->Reload().ok());
  EXPECT_EQ(tls->generation(), 2);
  EXPECT_EQ(Published(*tls, "cert.pem"), second_.cert);
  EXPECT_EQ(Published(*tls, "key.pem"), second_.key);
  // gRPC pairs key and certificate only when their times did not change
  // during its read: each generation must be a whole second apart.
  EXPECT_GT(MtimeOf(tls->directory() / "current" / "key.pem"), before);
  EXPECT_EQ(MtimeOf(tls->directory() / "current" / "cert.pem"), MtimeOf(tls->directory() / "current" / "key.pem"));
  EXPECT_NE(fs::read_symlink(tls->directory() / "current"), old_generation);
  EXPECT_FALSE(fs::exists(tls->directory() / old_generation));
  ASSERT_TRUE(tls->Reload().ok());  // at once again: still a second later
  EXPECT_GT(MtimeOf(tls->directory() / "current" / "key.pem"), before + 1);
}

TEST_F(ReloadableTlsTest, ABadReloadKeepsWhatIsPublished) {
  auto tls = Make();
  ASSERT_NE(tls, nullptr);
  struct Case {
    const char* name;
    std::string cert, key;
    const char* message;
  };
  for (const Case& c : {Case{"garbage certificate", "not a certificate\n", second_.key, "no PEM certificate"},
                        Case{"garbage key", second_.cert, "not a key\n", "no PEM private key"},
                        Case{"key of another certificate", second_.cert, first_.key, "does not belong"}}) {
    Install({c.cert, c.key});
    absl::Status s = tls->Reload();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.name << ": " << s;
    EXPECT_EQ(tls->generation(), 1) << c.name;
    EXPECT_EQ(Published(*tls, "cert.pem"), first_.cert) << c.name;
    EXPECT_EQ(Published(*tls, "key.pem"), first_.key) << c.name;
  }
  fs::remove(files_.key_file);
  absl::Status missing = tls->Reload();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_NE(missing.message().find(files_.key_file), std::string::npos) << missing;
  EXPECT_EQ(Published(*tls, "key.pem"), first_.key);
}

TEST_F(ReloadableTlsTest, ClientCaIsCheckedAndPublished) {
  Write(root_ / "ca.pem", "no certificate here\n");
  files_.client_ca_file = (root_ / "ca.pem").string();
  auto refused = ReloadableServerTls::Create(files_, {.parent_dir = root_ / "private"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("TLS client CA"), std::string::npos) << refused.status();
  Write(root_ / "ca.pem", second_.cert);
  auto tls = Make();
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(Published(*tls, "ca.pem"), second_.cert);
}

TEST_F(ReloadableTlsTest, TheDestructorRemovesThePrivateCopy) {
  fs::path dir;
  {
    auto tls = Make();
    ASSERT_NE(tls, nullptr);
    dir = tls->directory();
    EXPECT_TRUE(fs::exists(dir));
  }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace rpc
