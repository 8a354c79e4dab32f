#include "eventlog/kafka_settings.h"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/durable_file.h"
#include "base/status.h"

namespace eventlog {
namespace {

bool PassedThrough(std::string_view key) {
  return key == "security.protocol" || key.starts_with("sasl.") || key.starts_with("ssl.");
}

// Keys whose value is a secret: passwords, private keys, token configs.
bool Secret(std::string_view key) {
  for (std::string_view part : {"password", "secret", "key.pem", "jaas", "oauthbearer.config"}) {
    if (key.find(part) != std::string_view::npos) return true;
  }
  return false;
}

constexpr absl::string_view kFileSuffix = ".file";

// `<key>.file = PATH`: the value of <key> is PATH's content, one trailing
// newline dropped (how a Kubernetes Secret volume holds a password).
absl::Status ResolveFileValue(const std::string& where, std::string& key, std::string& value) {
  if (!absl::EndsWith(key, kFileSuffix)) return absl::OkStatus();
  std::string target = key.substr(0, key.size() - kFileSuffix.size());
  absl::StatusOr<std::string> content = base::ReadWholeFile(value);
  if (!content.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": kafka setting ", key, ": cannot read ", value, ": ", content.status().message()));
  }
  if (absl::EndsWith(*content, "\r\n")) {
    content->resize(content->size() - 2);
  } else if (absl::EndsWith(*content, "\n")) {
    content->pop_back();
  }
  key = std::move(target);
  value = std::move(*content);
  return absl::OkStatus();
}

}  // namespace

absl::Status SetKafkaConf(rd_kafka_conf_s* conf, const std::string& key, const std::string& value,
                          std::string_view client) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK) {
    return absl::OkStatus();
  }
  std::string why = errstr;
  if (Secret(key) && !value.empty()) why = absl::StrReplaceAll(why, {{value, "<redacted>"}});
  return absl::InvalidArgumentError(absl::StrCat(base::AsAbsl(client), ": kafka setting ", key, ": ", why));
}

absl::StatusOr<KafkaSettings> ParseKafkaSettings(std::string_view text, std::string_view path) {
  KafkaSettings settings;
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> scratch(rd_kafka_conf_new(),
                                                                             &rd_kafka_conf_destroy);
  int line_number = 0;
  for (absl::string_view piece : absl::StrSplit(base::AsAbsl(text), '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(piece);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = absl::StrCat(base::AsAbsl(path), ":", line_number);
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected key=value (the value is not shown)"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    RETURN_IF_ERROR(ResolveFileValue(where, key, value));
    if (!PassedThrough(key)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": kafka setting ", key,
                                                     " is not passed through: only security.protocol, sasl.* and "
                                                     "ssl.* are (docs/security.md)"));
    }
    // librdkafka judges the key and value now, at start, not at first use.
    RETURN_IF_ERROR(SetKafkaConf(scratch.get(), key, value, where));
    settings.emplace_back(std::move(key), std::move(value));
  }
  return settings;
}

absl::StatusOr<KafkaSettings> ReadKafkaSettings(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadWholeFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--kafka-config ", path, ": ", text.status().message()));
  }
  return ParseKafkaSettings(*text, path);
}

}  // namespace eventlog
