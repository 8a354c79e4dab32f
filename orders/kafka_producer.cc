#include "orders/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace orders {
namespace {

}  // namespace

KafkaProducer::KafkaProducer(KafkaProducerOptions options) : options_(std::move(options)) {}

KafkaProducer::~KafkaProducer() {
  if (handle_ != nullptr) {
    rd_kafka_flush(handle_, 5'000);
    rd_kafka_destroy(handle_);
  }
}

void KafkaProducer::OnDelivery(rd_kafka_s* /*handle*/, const void* message, void* opaque) {
  const auto* m = static_cast<const rd_kafka_message_t*>(message);
  auto* self = static_cast<KafkaProducer*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (IsPermanent(m->err)) self->failed_permanently_ += 1;
  if (self->failed_++ == 0) {
    self->first_error_ = absl::StrCat(rd_kafka_topic_name(m->rkt), ": ", rd_kafka_err2str(m->err));
  }
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Open(KafkaProducerOptions options) {
  if (options.bootstrap_servers.empty()) return absl::InvalidArgumentError("kafka producer: no bootstrap servers");
  std::unique_ptr<KafkaProducer> self(new KafkaProducer(std::move(options)));
  const KafkaProducerOptions& o = self->options_;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const eventlog::KafkaSettings own = {{"bootstrap.servers", o.bootstrap_servers},
                                 {"client.id", o.client_id},
                                 {"enable.idempotence", "true"},
                                 {"acks", "all"},
                                 {"linger.ms", "5"},
                                 {"queue.buffering.max.messages", std::to_string(o.queue_messages_max)},
                                 {"message.timeout.ms", std::to_string(o.flush_timeout_ms)},
                                 {"message.max.bytes", std::to_string(o.message_bytes_max)}};
  for (const eventlog::KafkaSettings* settings : {&own, &o.settings}) {
    for (const auto& [name, value] : *settings) {
      absl::Status s = eventlog::SetKafkaConf(conf, name, value, "kafka producer " + o.client_id);
      if (!s.ok()) {
        rd_kafka_conf_destroy(conf);
        return s;
      }
    }
  }
  rd_kafka_conf_set_opaque(conf, self.get());
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
    OnDelivery(rk, m, opaque);
  });
  char errstr[512];
  self->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (self->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", errstr));
  }
  return self;
}

absl::Status KafkaProducer::Produce(std::string_view topic, std::string_view key, std::string_view value,
                                    const KafkaHeaders& headers) {
  const std::string topic_name(topic);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.queue_full_wait_ms);
  while (true) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(headers.size());
    for (const auto& [name, v] : headers) {
      rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), v.data(), static_cast<ssize_t>(v.size()));
    }
    rd_kafka_vu_t vu[5] = {};
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic_name.c_str();
    vu[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[1].u.i = RD_KAFKA_MSG_F_COPY;
    vu[2].vtype = RD_KAFKA_VTYPE_KEY;
    vu[2].u.mem.ptr = const_cast<char*>(key.data());
    vu[2].u.mem.size = key.size();
    vu[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[3].u.mem.ptr = const_cast<char*>(value.data());
    vu[3].u.mem.size = value.size();
    vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[4].u.headers = h;
    rd_kafka_error_t* error = rd_kafka_produceva(handle_, vu, 5);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (error != nullptr) {
      err = rd_kafka_error_code(error);
      rd_kafka_error_destroy(error);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the message owns the headers now
    rd_kafka_headers_destroy(h);
    if (IsPermanent(err)) {
      return absl::InvalidArgumentError(absl::StrCat("producing to ", topic_name, ": ", rd_kafka_err2str(err)));
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError(absl::StrCat("producing to ", topic_name, ": ", rd_kafka_err2str(err)));
    }
    rd_kafka_poll(handle_, 10);  // serve deliveries to make room
  }
  rd_kafka_poll(handle_, 0);
  return absl::OkStatus();
}

bool KafkaProducer::IsPermanent(int kafka_error) {
  switch (static_cast<rd_kafka_resp_err_t>(kafka_error)) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

absl::Status KafkaProducer::Flush() {
  const rd_kafka_resp_err_t err = rd_kafka_flush(handle_, static_cast<int>(options_.flush_timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka flush: ", rd_kafka_err2str(err)));
  }
  if (failed_ == 0) return absl::OkStatus();
  const std::string message = absl::StrCat(failed_, " message(s) not delivered; first: ", first_error_);
  absl::Status s = failed_permanently_ == failed_ ? absl::InvalidArgumentError(message)
                                                  : absl::UnavailableError(message);
  failed_ = 0;
  failed_permanently_ = 0;
  first_error_.clear();
  return s;
}

}  // namespace orders
