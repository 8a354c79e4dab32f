#include "eventlog/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include "base/check.h"
#include "base/status.h"
#include "log_limits.h"

namespace eventlog {
namespace {

// Where a delivery report lands: one per produced message.
struct DeliverySlot {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t offset = -1;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  auto* slot = static_cast<DeliverySlot*>(message->_private);
  if (slot == nullptr) return;
  slot->done = true;
  slot->err = message->err;
  slot->offset = message->offset;
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};

int TimeoutMs(std::chrono::milliseconds ms) { return static_cast<int>(ms.count()); }

absl::Status Unavailable(std::string_view what, std::string_view detail) {
  return absl::UnavailableError("kafka log: " + std::string(what) + ": " + std::string(detail));
}

// Takes ownership of `error`; OK when null. A fatal error finishes the
// producer for good (event_log.h: FAILED_PRECONDITION); librdkafka reports a
// coordinator's PRODUCER_FENCED or INVALID_PRODUCER_EPOCH as fatal _FENCED.
absl::Status FromError(rd_kafka_error_t* error, std::string_view what) {
  if (error == nullptr) return absl::OkStatus();
  const std::string message = rd_kafka_error_string(error);
  const bool fatal = rd_kafka_error_is_fatal(error);
  const bool fenced = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__FENCED;
  rd_kafka_error_destroy(error);
  if (fenced) {
    return absl::FailedPreconditionError("kafka log: " + std::string(what) +
                                         ": fenced by another writer (a newer producer took the transactional.id): " +
                                         message);
  }
  if (fatal) return absl::FailedPreconditionError("kafka log: " + std::string(what) + ": fatal producer error: " + message);
  return Unavailable(what, message);
}

// The log's own settings, then the security passthrough.
absl::StatusOr<Conf> MakeConf(const KafkaSettings& own, const KafkaSettings& security) {
  Conf conf(rd_kafka_conf_new());
  for (const KafkaSettings* settings : {&own, &security}) {
    for (const auto& [name, value] : *settings) RETURN_IF_ERROR(SetKafkaConf(conf.get(), name, value, "kafka log"));
  }
  return conf;
}

absl::StatusOr<rd_kafka_t*> NewHandle(rd_kafka_type_t type, Conf conf) {
  char errstr[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (handle == nullptr) return absl::InvalidArgumentError(std::string("kafka log: creating client: ") + errstr);
  (void)conf.release();  // rd_kafka_new took ownership
  return handle;
}

// Looks the topic up; FAILED_PRECONDITION when missing or sized differently.
absl::Status CheckTopic(rd_kafka_t* handle, const KafkaLogOptions& options) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(handle, 1, nullptr, &metadata, TimeoutMs(options.request_timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("reading metadata", rd_kafka_err2str(err));
  absl::Status status = absl::FailedPreconditionError("kafka log: topic " + options.topic +
                                                      " does not exist; create it with " +
                                                      std::to_string(options.partition_count) + " partitions");
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[i];
    if (options.topic != topic.topic || topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (static_cast<uint32_t>(topic.partition_cnt) == options.partition_count) {
      status = absl::OkStatus();
    } else {
      status = absl::FailedPreconditionError(
          "kafka log: topic " + options.topic + " has " + std::to_string(topic.partition_cnt) +
          " partitions; refusing to open it with " + std::to_string(options.partition_count) +
          " (the partition count is fixed at creation)");
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return status;
}

absl::StatusOr<rd_kafka_t*> NewConsumer(const KafkaLogOptions& options) {
  // group.id is required by the consumer API but unused: partitions are
  // assigned explicitly and offsets are never committed to Kafka (readers
  // store their positions with their own state).
  ASSIGN_OR_RETURN(Conf conf, MakeConf({
                                  {"bootstrap.servers", options.bootstrap_servers},
                                  {"socket.nagle.disable", "true"},  // small requests, latency matters
                                  {"group.id", "inventory-log-reader." + options.topic},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"isolation.level", "read_committed"},
                                  {"enable.partition.eof", "true"},
                                  {"auto.offset.reset", "error"},
                                  {"fetch.wait.max.ms", "5"},  // we unassign after each read: no idle polling
                                  {"queued.max.messages.kbytes", "16384"},
                                  {"fetch.message.max.bytes", std::to_string(options.record_bytes_max + (64 << 10))},
                              },
                              options.settings));
  return NewHandle(RD_KAFKA_CONSUMER, std::move(conf));
}

absl::StatusOr<rd_kafka_t*> NewProducer(const KafkaLogOptions& options) {
  ASSIGN_OR_RETURN(Conf conf, MakeConf({
                                  {"bootstrap.servers", options.bootstrap_servers},
                                  {"socket.nagle.disable", "true"},  // small requests, latency matters
                                  {"transactional.id", options.transactional_id},
                                  {"enable.idempotence", "true"},
                                  {"acks", "all"},
                                  {"linger.ms", "1"},
                                  {"transaction.timeout.ms", "60000"},
                                  {"message.timeout.ms", std::to_string(options.request_timeout_ms.count())},
                                  {"message.max.bytes", std::to_string(options.record_bytes_max + (64 << 10))},
                              },
                              options.settings));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  return NewHandle(RD_KAFKA_PRODUCER, std::move(conf));
}

// Runs a transactional call up to retries_max times while it is retriable.
template <typename Call>
absl::Status WithRetries(const KafkaLogOptions& options, std::string_view what, Call call) {
  for (int attempt = 1;; ++attempt) {
    rd_kafka_error_t* error = call();
    if (error == nullptr) return absl::OkStatus();
    if (!rd_kafka_error_is_retriable(error) || attempt >= options.retries_max) return FromError(error, what);
    rd_kafka_error_destroy(error);
    std::this_thread::sleep_for(options.retry_backoff_ms);
  }
}

// The end (high watermark) of each partition in one ListOffsets round trip.
absl::StatusOr<NextOffsets> QueryEndOffsets(rd_kafka_t* handle, const std::string& topic,
                                                      std::span<const uint32_t> partitions,
                                                      std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter> list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (uint32_t partition : partitions) {
    // As a ListOffsets timestamp, OFFSET_END (-1) asks for the latest offset.
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), static_cast<int32_t>(partition))->offset =
        RD_KAFKA_OFFSET_END;
  }
  const rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(handle, list.get(), TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("querying end offsets", rd_kafka_err2str(err));
  std::vector<uint64_t> ends;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& entry = list->elems[i];
    if (entry.err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("querying end offsets", rd_kafka_err2str(entry.err));
    if (entry.offset < 0) return Unavailable("querying end offsets", "broker returned no offset");
    ends.push_back(static_cast<uint64_t>(entry.offset));
  }
  return NextOffsets(std::move(ends));
}

}  // namespace

void KafkaLog::HandleDeleter::operator()(rd_kafka_s* handle) const { rd_kafka_destroy(handle); }
void KafkaLog::TopicDeleter::operator()(rd_kafka_topic_s* topic) const { rd_kafka_topic_destroy(topic); }

absl::StatusOr<std::unique_ptr<KafkaLog>> KafkaLog::Open(KafkaLogOptions options) {
  RETURN_IF_ERROR(ValidatePartitionCount(options.partition_count));
  if (options.bootstrap_servers.empty()) return base::InvalidField("bootstrap_servers", "must not be empty");
  if (options.retries_max < 1) return base::InvalidField("retries_max", "must be >= 1");
  ASSIGN_OR_RETURN(rd_kafka_t * raw_consumer, NewConsumer(options));
  Handle consumer(raw_consumer);
  RETURN_IF_ERROR(CheckTopic(consumer.get(), options));
  // Offset queries get their own connection so they never queue behind a
  // fetch of the reading consumer.
  ASSIGN_OR_RETURN(rd_kafka_t * raw_offsets, NewConsumer(options));
  Handle offsets(raw_offsets);
  Handle producer;
  if (options.role == KafkaLogRole::kReadWrite) {
    ASSIGN_OR_RETURN(rd_kafka_t * raw_producer, NewProducer(options));
    producer.reset(raw_producer);
    RETURN_IF_ERROR(WithRetries(options, "initializing transactions", [&] {
      return rd_kafka_init_transactions(producer.get(), TimeoutMs(options.request_timeout_ms));
    }));
    // Learn the topic's partitions now: otherwise the first produce waits for
    // librdkafka's periodic topic scan (about a second).
    rd_kafka_topic_t* topic = rd_kafka_topic_new(producer.get(), options.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(producer.get(), 0, topic, &metadata, TimeoutMs(options.request_timeout_ms));
    if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_destroy(topic);
      return Unavailable("reading topic metadata", rd_kafka_err2str(err));
    }
    TopicHandle topic_handle(topic);
    return std::unique_ptr<KafkaLog>(
        new KafkaLog(std::move(options), std::move(producer), std::move(topic_handle), std::move(consumer),
                     std::move(offsets)));
  }
  return std::unique_ptr<KafkaLog>(
      new KafkaLog(std::move(options), std::move(producer), nullptr, std::move(consumer), std::move(offsets)));
}

KafkaLog::KafkaLog(KafkaLogOptions options, Handle producer, TopicHandle producer_topic, Handle consumer,
                   Handle offsets)
    : options_(std::move(options)),
      producer_(std::move(producer)),
      producer_topic_(std::move(producer_topic)),
      consumer_(std::move(consumer)),
      offsets_(std::move(offsets)),
      group_commit_(options_.group_records_max, [this](GroupCommit::Batches b) { return CommitGroup(b); }) {}

KafkaLog::~KafkaLog() { Close().IgnoreError(); }

absl::Status KafkaLog::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  absl::Status status;
  if (producer_ != nullptr) {
    const rd_kafka_resp_err_t err = rd_kafka_flush(producer_.get(), TimeoutMs(options_.request_timeout_ms));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) status = Unavailable("flushing on close", rd_kafka_err2str(err));
    producer_topic_.reset();
    producer_.reset();
  }
  rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
  offsets_.reset();
  return status;
}

absl::StatusOr<std::vector<LogPosition>> KafkaLog::Append(std::span<const LogRecord> records) {
  RETURN_IF_ERROR(ValidateBatch(records, options_.record_bytes_max, options_.batch_records_max));
  if (closed_.load()) return absl::FailedPreconditionError("kafka log is closed");
  if (producer_ == nullptr) return absl::FailedPreconditionError("kafka log was opened read-only");
  if (records.empty()) return std::vector<LogPosition>();
  return group_commit_.Submit(records);
}

absl::StatusOr<std::vector<std::vector<LogPosition>>> KafkaLog::CommitGroup(GroupCommit::Batches batches) {
  std::lock_guard lock(txn_mu_);
  RETURN_IF_ERROR(txn_fatal_);
  absl::Status begun = FromError(rd_kafka_begin_transaction(producer_.get()), "beginning a transaction");
  if (!begun.ok()) {
    if (absl::IsFailedPrecondition(begun)) txn_fatal_ = begun;
    return begun;
  }
  absl::StatusOr<std::vector<std::vector<LogPosition>>> positions = ProduceAll(batches);
  absl::Status committed = positions.ok() ? CommitTransaction() : positions.status();
  if (!committed.ok()) {
    // A fenced producer often learns it from a produce (an abortable error)
    // and only the abort says it is fatal: answer that, not the produce's.
    if (!absl::IsFailedPrecondition(committed)) {
      if (absl::Status aborted = AbortTransaction(); absl::IsFailedPrecondition(aborted)) committed = aborted;
    }
    if (absl::IsFailedPrecondition(committed)) txn_fatal_ = committed;
    return committed;
  }
  signal_.Notify();
  return positions;
}

absl::StatusOr<std::vector<std::vector<LogPosition>>> KafkaLog::ProduceAll(GroupCommit::Batches batches) {
  size_t total = 0;
  for (const auto& batch : batches) total += batch.size();
  std::vector<DeliverySlot> slots(total);
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout_ms;
  size_t next_slot = 0;
  for (const auto& batch : batches) {
    for (const LogRecord& record : batch) {
      rd_kafka_vu_t vus[6];
      vus[0].vtype = RD_KAFKA_VTYPE_RKT;
      vus[0].u.ptr = producer_topic_.get();
      vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      vus[1].u.i32 = static_cast<int32_t>(PartitionFor(record.key, options_.partition_count));
      vus[2].vtype = RD_KAFKA_VTYPE_KEY;
      vus[2].u.mem = {const_cast<char*>(record.key.data()), record.key.size()};
      vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[3].u.mem = {const_cast<char*>(record.payload.data()), record.payload.size()};
      vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[4].u.i = RD_KAFKA_MSG_F_COPY;
      vus[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
      vus[5].u.ptr = &slots[next_slot];
      while (true) {
        rd_kafka_error_t* error = rd_kafka_produceva(producer_.get(), vus, 6);
        if (error == nullptr) break;
        if (rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
            std::chrono::steady_clock::now() >= deadline) {
          // Drain reports for what was produced so far before the slots die.
          rd_kafka_flush(producer_.get(), TimeoutMs(options_.request_timeout_ms));
          return FromError(error, "producing");
        }
        rd_kafka_error_destroy(error);
        rd_kafka_poll(producer_.get(), 10);  // the local queue is full: let it drain
      }
      ++next_slot;
    }
  }
  // flush serves the delivery reports into `slots`.
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer_.get(), TimeoutMs(options_.request_timeout_ms));
  for (const DeliverySlot& slot : slots) {
    if (!slot.done) {
      // Never leave a pointer to a dead slot with librdkafka: purge first.
      rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(producer_.get(), TimeoutMs(options_.request_timeout_ms));
      return Unavailable("waiting for delivery", rd_kafka_err2str(flushed));
    }
    if (slot.err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("delivery", rd_kafka_err2str(slot.err));
  }
  std::vector<std::vector<LogPosition>> positions(batches.size());
  std::vector<int64_t> last(options_.partition_count, -1);
  next_slot = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    for (const LogRecord& record : batches[b]) {
      const uint32_t partition = PartitionFor(record.key, options_.partition_count);
      const int64_t offset = slots[next_slot++].offset;
      if (offset <= last[partition]) {
        return absl::DataLossError("kafka log: broker returned offset " + std::to_string(offset) + " after " +
                                   std::to_string(last[partition]) + " in partition " + std::to_string(partition));
      }
      last[partition] = offset;
      positions[b].push_back(LogPosition{partition, static_cast<uint64_t>(offset)});
    }
  }
  return positions;
}

absl::Status KafkaLog::CommitTransaction() {
  return WithRetries(options_, "committing a transaction", [&] {
    return rd_kafka_commit_transaction(producer_.get(), TimeoutMs(options_.request_timeout_ms));
  });
}

absl::Status KafkaLog::AbortTransaction() {
  absl::Status aborted = WithRetries(options_, "aborting a transaction", [&] {
    return rd_kafka_abort_transaction(producer_.get(), TimeoutMs(options_.request_timeout_ms));
  });
  // A transaction we can neither commit nor abort (the broker unreachable)
  // leaves the producer in an unknown state: stop writing until the log is
  // reopened. A fatal abort is the caller's to keep.
  if (!aborted.ok() && !absl::IsFailedPrecondition(aborted)) {
    txn_fatal_ = absl::UnavailableError(std::string(aborted.message()) + "; reopen the log");
  }
  return aborted;
}

absl::StatusOr<std::vector<StoredRecord>> KafkaLog::Read(uint32_t partition, uint64_t from_offset,
                                                         size_t max_records) {
  if (closed_.load()) return absl::FailedPreconditionError("kafka log is closed");
  if (partition >= options_.partition_count) {
    return base::InvalidField("partition", "no partition " + std::to_string(partition) + " in a log of " +
                                               std::to_string(options_.partition_count));
  }
  std::vector<StoredRecord> out;
  if (max_records == 0) return out;
  std::lock_guard lock(read_mu_);
  const uint32_t partitions[] = {partition};
  ASSIGN_OR_RETURN(NextOffsets ends,
                   QueryEndOffsets(offsets_.get(), options_.topic, partitions, options_.request_timeout_ms));
  const uint64_t high = ends.values().at(0);
  if (from_offset >= high) return out;

  std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter> assignment(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(assignment.get(), options_.topic.c_str(), static_cast<int32_t>(partition))
      ->offset = static_cast<int64_t>(from_offset);
  rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer_.get(), assignment.get());
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("assigning", rd_kafka_err2str(assigned));

  absl::Status status;
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout_ms;
  uint64_t next = from_offset;
  // Stop at the high watermark read above, or earlier at the end of what is
  // committed (PARTITION_EOF under read_committed).
  while (out.size() < max_records && next < high) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      status = Unavailable("reading partition " + std::to_string(partition), "timed out");
      break;
    }
    std::unique_ptr<rd_kafka_message_t, MessageDeleter> message(rd_kafka_consumer_poll(consumer_.get(), TimeoutMs(left)));
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      status = absl::DataLossError("kafka log: offset " + std::to_string(from_offset) + " of partition " +
                                   std::to_string(partition) +
                                   " is no longer in the log (deleted by retention?): " +
                                   rd_kafka_message_errstr(message.get()));
      break;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Unavailable("reading partition " + std::to_string(partition), rd_kafka_message_errstr(message.get()));
      break;
    }
    // Skip anything left over from an earlier assignment.
    if (message->partition != static_cast<int32_t>(partition) || message->offset < static_cast<int64_t>(next)) continue;
    StoredRecord record;
    record.position = LogPosition{partition, static_cast<uint64_t>(message->offset)};
    if (message->key != nullptr) record.key.assign(static_cast<const char*>(message->key), message->key_len);
    if (message->payload != nullptr) record.payload.assign(static_cast<const char*>(message->payload), message->len);
    if (record.key.empty() || PartitionFor(record.key, options_.partition_count) != partition) {
      status = absl::DataLossError("kafka log: message at " + std::to_string(partition) + ":" +
                                   std::to_string(message->offset) + " has a key of another partition");
      break;
    }
    next = record.position.offset + 1;
    out.push_back(std::move(record));
  }
  rd_kafka_assign(consumer_.get(), nullptr);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<NextOffsets> KafkaLog::EndOffsets() {
  if (closed_.load()) return absl::FailedPreconditionError("kafka log is closed");
  // Hold the transaction lock so no transaction of ours is half done: every
  // offset below the high watermark then belongs to a finished transaction.
  std::lock_guard lock(txn_mu_);
  std::vector<uint32_t> partitions(options_.partition_count);
  for (uint32_t p = 0; p < options_.partition_count; ++p) partitions[p] = p;
  return QueryEndOffsets(offsets_.get(), options_.topic, partitions, options_.request_timeout_ms);
}

std::unique_ptr<LogTail> KafkaLog::Tail(NextOffsets start_offsets, TailOptions options) {
  return std::make_unique<PollingTail>(this, &signal_, std::move(start_offsets), options);
}

}  // namespace eventlog
