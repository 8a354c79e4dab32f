// The --kafka-config parser: what passes through, what is refused and how
// the message reads, and that a secret value never appears in an error.
#include "eventlog/kafka_settings.h"

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

}  // namespace
}  // namespace eventlog
