// The --kafka-config parser: what passes through, what is refused and how
// the message reads, and that a secret value never appears in an error.
#include "eventlog/kafka_settings.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "gtest/gtest.h"

namespace eventlog {
namespace {

TEST(KafkaSettingsTest, SecuritySettingsPassThroughInOrder) {
  absl::StatusOr<KafkaSettings> s = ParseKafkaSettings(
      "# broker security\n\n security.protocol = SASL_SSL \nsasl.mechanism=PLAIN\nsasl.username=shop\n"
      "sasl.password=p=ss word\nssl.endpoint.identification.algorithm=none\n",
      "kafka.conf");
  ASSERT_TRUE(s.ok()) << s.status();
  KafkaSettings want = {{"security.protocol", "SASL_SSL"},
                        {"sasl.mechanism", "PLAIN"},
                        {"sasl.username", "shop"},
                        {"sasl.password", "p=ss word"},
                        {"ssl.endpoint.identification.algorithm", "none"}};
  EXPECT_EQ(*s, want);
}

TEST(KafkaSettingsTest, UnknownPropertyNamedWithLibrdkafkasReason) {
  absl::StatusOr<KafkaSettings> s = ParseKafkaSettings("sasl.mechanism=PLAIN\nssl.no.such.thing=1\n", "kafka.conf");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("kafka.conf:2"), std::string::npos) << s.status();
  EXPECT_NE(s.status().message().find("ssl.no.such.thing"), std::string::npos) << s.status();
  EXPECT_NE(s.status().message().find("No such configuration property"), std::string::npos) << s.status();
}

TEST(KafkaSettingsTest, InvalidValueRefusedNamingTheKey) {
  absl::StatusOr<KafkaSettings> s = ParseKafkaSettings("security.protocol=carrier-pigeon\n", "k");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("security.protocol"), std::string::npos) << s.status();
}

TEST(KafkaSettingsTest, OnlySecurityKeysAreAccepted) {
  for (const char* line : {"enable.idempotence=false", "transactional.id=x", "bootstrap.servers=evil:9092"}) {
    absl::StatusOr<KafkaSettings> s = ParseKafkaSettings(line, "k");
    ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << line;
    EXPECT_NE(s.status().message().find("only security.protocol, sasl.* and ssl.*"), std::string::npos) << s.status();
  }
}

TEST(KafkaSettingsTest, MalformedLineNeverShowsItsText) {
  absl::StatusOr<KafkaSettings> s = ParseKafkaSettings("sasl.password hunter2-secret\n", "k");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("k:1"), std::string::npos);
  EXPECT_EQ(s.status().message().find("hunter2-secret"), std::string::npos) << s.status();
}

TEST(KafkaSettingsTest, UnreadableFileNamed) {
  absl::StatusOr<KafkaSettings> bad = ReadKafkaSettings("/nonexistent/kafka.conf");
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--kafka-config /nonexistent/kafka.conf"), std::string::npos) << bad.status();
}

TEST(KafkaSettingsTest, FileKeysReadTheirValueAndNeverShowIt) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / ("kafka_settings_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "password") << "s3cret-from-a-secret\n";
  std::ofstream(dir / "username") << "shop";
  absl::StatusOr<KafkaSettings> s = ParseKafkaSettings(
      "sasl.mechanism=PLAIN\nsasl.username.file=" + (dir / "username").string() +
          "\nsasl.password.file = " + (dir / "password").string() + "\n",
      "kafka.conf");
  ASSERT_TRUE(s.ok()) << s.status();
  KafkaSettings want = {{"sasl.mechanism", "PLAIN"}, {"sasl.username", "shop"}, {"sasl.password", "s3cret-from-a-secret"}};
  EXPECT_EQ(*s, want);

  absl::StatusOr<KafkaSettings> missing = ParseKafkaSettings("sasl.password.file=" + (dir / "nope").string(), "k");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("k:1: kafka setting sasl.password.file: cannot read"), std::string::npos)
      << missing.status();
  // The key a file names is held to the same passthrough rule.
  std::ofstream(dir / "servers") << "evil:9092\n";
  absl::StatusOr<KafkaSettings> outside = ParseKafkaSettings("bootstrap.servers.file=" + (dir / "servers").string(), "k");
  ASSERT_EQ(outside.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(outside.status().message().find("bootstrap.servers is not passed through"), std::string::npos)
      << outside.status();
  EXPECT_EQ(outside.status().message().find("evil"), std::string::npos) << outside.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eventlog
