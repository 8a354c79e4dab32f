#include "orders/order_consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status.h"
#include "ledger/derived_ids.h"
#include "logging/log_format.h"
#include "metrics/grpc_interceptor.h"
#include "orders/public_event.h"
#include "spdlog/spdlog.h"

namespace orders {
namespace {

using ledger::RejectionReason;

}  // namespace

// Counts down once per answered command; Wait blocks until all are.
class AnswerLatch {
 public:
  explicit AnswerLatch(std::size_t count) : count_(count) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    INV_CHECK(count_ > 0);
    if (--count_ == 0) done_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  std::size_t count_;
};

namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsReservationRefusal(RejectionReason r) {
  return r == RejectionReason::kInsufficientStock || r == RejectionReason::kUnknownItem ||
         r == RejectionReason::kUnknownWarehouse || r == RejectionReason::kItemDiscontinued ||
         r == RejectionReason::kWarehouseInactive || r == RejectionReason::kSalesBlocked;
}

std::string HeaderValue(rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR || headers == nullptr) return {};
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || value == nullptr) {
    return {};
  }
  return std::string(static_cast<const char*>(value), size);
}

}  // namespace

std::string_view ToString(MessageOutcome outcome) {
  static constexpr std::array<std::string_view, kMessageOutcomeCount> kNames = {"applied", "duplicate", "refused",
                                                                                "ignored", "dead_letter"};
  return kNames[static_cast<std::size_t>(outcome)];
}

std::string_view ToString(DeadLetterReason reason) {
  static constexpr std::array<std::string_view, kDeadLetterReasonCount> kNames = {
      "too_large", "type_conflict", "invalid_message", "ledger_refused", "cannot_commit"};
  return kNames[static_cast<std::size_t>(reason)];
}

std::string_view MessageTypeName(std::size_t index) {
  static_assert(static_cast<std::size_t>(OrderEventType::kOrderCancelled) + 2 == kMessageTypeCount,
                "an OrderEventType was added: update kMessageTypeCount");
  return index + 1 < kMessageTypeCount ? ToString(static_cast<OrderEventType>(index)) : "unknown";
}

struct OrderConsumer::Counters {
  std::atomic<std::uint64_t> messages{0}, batches{0}, reserved{0}, reservation_failed{0}, committed{0}, released{0},
      returned{0}, duplicates{0}, ignored{0}, dead_letters{0}, dead_letters_lost{0}, offset_commit_errors{0},
      traceparent_malformed{0};
  std::array<std::array<std::atomic<std::uint64_t>, kMessageOutcomeCount>, kMessageTypeCount> by_type{};
  std::array<std::atomic<std::uint64_t>, kDeadLetterReasonCount> dead_letters_by_reason{};
};

// One command in flight and its answer.
struct OrderConsumer::Job {
  // For an order event's own command: the event it came from. Its command is
  // moved into the writer and rebuilt from the event if it must be sent again.
  const OrderEvent* source = nullptr;
  bool sent = false;
  ledger::ReservationId reservation_id;  // commit/release jobs
  std::string traceparent;               // the message's valid traceparent header, stamped on the command
  ledger::Command command;
  command_api::WriteResult result;
  // Filled on the writer thread: for a refused commit/release, the
  // reservation's status then; for an accepted cancellation, whether it
  // returned committed stock (the order was cancelled after payment).
  std::optional<ledger::ReservationStatus> reservation_status;
  bool returned_stock = false;
};

// One consumed message.
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};

struct OrderConsumer::Item {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::unique_ptr<rd_kafka_message_t, MessageDeleter> message;  // kept until the batch is done
  std::string_view key;   // into message
  std::string_view body;  // into message
  std::string type_header;  // the type from outside the body, reconciled (TypeFromOutside)
  std::string event_id_header;  // ce_id, with cloudevents
  std::string traceparent;      // the valid W3C traceparent header; "" when absent or malformed
  absl::Status type_conflict;   // not OK: the outside sources disagree
  std::optional<OrderEvent> event;
  absl::Status dead;       // not OK: a dead letter with this error
  DeadLetterReason dead_reason = DeadLetterReason::kInvalidMessage;  // when `dead` is not OK
  MessageOutcome outcome = MessageOutcome::kDeadLetter;              // set by Classify
  std::optional<Job> job;  // the command the event asks for
  std::optional<PublicEvent> failed;  // reservation_failed
};

struct OrderConsumer::Batch {
  std::unique_ptr<AnswerLatch> latch;  // set while submitted jobs await their answers
  std::vector<Item> items;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offsets;  // (topic, partition) -> 1 + last offset
};

OrderConsumer::OrderConsumer(command_api::Writer* writer, OrderConsumerOptions options)
    : writer_(writer), options_(std::move(options)), parser_(options_.parser), counters_(std::make_unique<Counters>()) {}

OrderConsumer::~OrderConsumer() { Stop(); }

absl::StatusOr<std::unique_ptr<OrderConsumer>> OrderConsumer::Open(command_api::Writer* writer,
                                                                   OrderConsumerOptions options) {
  if (options.bootstrap_servers.empty()) return absl::InvalidArgumentError("order consumer: no bootstrap servers");
  if (options.batch_messages_max == 0) return absl::InvalidArgumentError("order consumer: batch_messages_max is 0");
  if (options.producer.bootstrap_servers.empty()) options.producer.bootstrap_servers = options.bootstrap_servers;
  std::unique_ptr<OrderConsumer> self(new OrderConsumer(writer, std::move(options)));
  const OrderConsumerOptions& o = self->options_;
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Open(o.producer);
  if (!producer.ok()) return producer.status();
  self->producer_ = std::move(*producer);

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  const eventlog::KafkaSettings own = {
           {"bootstrap.servers", o.bootstrap_servers},
           {"group.id", o.group_id},
           {"client.id", "inventory-orders-consumer"},
           // Offsets are stored (rd_kafka_offsets_store) only once a batch is
           // durable and its dead letters delivered; the auto commit sends
           // only stored offsets, and Stop() commits the last ones.
           {"enable.auto.commit", "true"},
           {"auto.commit.interval.ms", std::to_string(o.commit_interval_ms)},
           {"enable.auto.offset.store", "false"},
           {"auto.offset.reset", "earliest"},
           {"enable.partition.eof", "false"},
           {"session.timeout.ms", std::to_string(o.session_timeout_ms)}};
  for (const eventlog::KafkaSettings* settings : {&own, &o.settings}) {
    for (const auto& [name, value] : *settings) {
      absl::Status s = eventlog::SetKafkaConf(conf, name, value, "order consumer");
      if (!s.ok()) {
        rd_kafka_conf_destroy(conf);
        return s;
      }
    }
  }
  self->consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (self->consumer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("order consumer: ", errstr));
  }
  rd_kafka_poll_set_consumer(self->consumer_);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(1 + o.typed_topics.size()));
  rd_kafka_topic_partition_list_add(topics, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
  for (const auto& [topic, type] : o.typed_topics) {
    if (!self->parser_.TypeOf(type)) {
      rd_kafka_topic_partition_list_destroy(topics);
      return absl::InvalidArgumentError(absl::StrCat("order consumer: topic ", topic, " is typed \"", type,
                                                     "\", which is not an order event type"));
    }
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(self->consumer_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("subscribing to ", o.topic, " (and typed topics): ", rd_kafka_err2str(err)));
  }
  return self;
}

void OrderConsumer::Start() {
  INV_CHECK(!thread_.joinable());
  thread_ = std::thread([this] { Run(); });
}

void OrderConsumer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_ != nullptr) {
    // Commit what was stored since the last auto commit, then leave the group.
    const rd_kafka_resp_err_t err = rd_kafka_commit(consumer_, nullptr, /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("order consumer: final offset commit: {}", rd_kafka_err2str(err));
    }
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
    consumer_ = nullptr;
  }
}

std::vector<PartitionLag> OrderConsumer::Lag() const {
  std::vector<PartitionLag> out;
  if (consumer_ == nullptr) return out;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(consumer_, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  rd_kafka_position(consumer_, assigned);
  for (int i = 0; i < assigned->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assigned->elems[i];
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_, tp.topic, tp.partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    std::int64_t position = tp.offset >= 0 ? tp.offset : low;
    out.push_back({.topic = tp.topic, .partition = tp.partition, .messages = std::max<std::int64_t>(0, high - position)});
  }
  rd_kafka_topic_partition_list_destroy(assigned);
  return out;
}

template <std::size_t N>
static std::array<std::uint64_t, N> Loaded(const std::array<std::atomic<std::uint64_t>, N>& counts) {
  std::array<std::uint64_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = counts[i].load(std::memory_order_relaxed);
  return out;
}

template <std::size_t N, std::size_t M>
static std::array<std::array<std::uint64_t, M>, N> Loaded(
    const std::array<std::array<std::atomic<std::uint64_t>, M>, N>& counts) {
  std::array<std::array<std::uint64_t, M>, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = Loaded(counts[i]);
  return out;
}

OrderConsumerStats OrderConsumer::stats() const {
  const Counters& c = *counters_;
  return {.messages = c.messages.load(),
          .batches = c.batches.load(),
          .reserved = c.reserved.load(),
          .reservation_failed = c.reservation_failed.load(),
          .committed = c.committed.load(),
          .released = c.released.load(),
          .returned = c.returned.load(),
          .duplicates = c.duplicates.load(),
          .ignored = c.ignored.load(),
          .dead_letters = c.dead_letters.load(),
          .dead_letters_lost = c.dead_letters_lost.load(),
          .offset_commit_errors = c.offset_commit_errors.load(),
          .traceparent_malformed = c.traceparent_malformed.load(),
          .by_type = Loaded(c.by_type),
          .dead_letters_by_reason = Loaded(c.dead_letters_by_reason)};
}

// Two batches overlap: while the writer decides batch N, this thread polls
// and parses batch N+1. N+1 is submitted only once every command of N has a
// durable answer (UNAVAILABLE ones retried first), so commands reach the
// writer in message order and each partition's order is kept. A stock return
// is decided inside its cancellation's command, so it keeps that order too.
void OrderConsumer::Run() {
  auto current = std::make_unique<Batch>();
  while (true) {
    auto next = std::make_unique<Batch>();
    if (!stopping_) {
      // With a batch in flight, take only what is already fetched.
      Poll(*next, current->items.empty() ? options_.poll_timeout_ms : 0);
      Prepare(*next);
    }
    if (!current->items.empty() && !Wait(*current)) break;  // stopping while the log is down: nothing stored
    if (!stopping_ && !next->items.empty()) Submit(*next);
    const bool finished = current->items.empty() || Finish(*current);
    if (finished && !current->items.empty()) {
      counters_->messages += current->items.size();
      counters_->batches += 1;
    }
    if (!finished || stopping_) {
      // `next` may have been submitted: let its answers arrive before it dies,
      // but store nothing of it; it is redelivered and answered as duplicates.
      if (next->latch != nullptr) next->latch->Wait();
      break;
    }
    current = std::move(next);
  }
}

void OrderConsumer::Poll(Batch& batch, std::int64_t first_timeout_ms) {
  int timeout_ms = static_cast<int>(first_timeout_ms);
  batch.items.reserve(options_.batch_messages_max);
  std::size_t bytes = 0;
  while (batch.items.size() < options_.batch_messages_max && bytes < options_.batch_bytes_max && !stopping_) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, timeout_ms);
    if (m == nullptr) break;
    timeout_ms = 0;  // take what is already fetched, then process
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("order consumer: {}", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    Item& item = batch.items.emplace_back();
    item.topic = rd_kafka_topic_name(m->rkt);
    item.partition = m->partition;
    item.offset = m->offset;
    if (m->key != nullptr) item.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) item.body = std::string_view(static_cast<const char*>(m->payload), m->len);
    bytes += m->len;
    TypeFromOutside(m, item);
    TraceFromHeaders(m, item);
    std::int64_t& next = batch.next_offsets[{item.topic, m->partition}];
    next = std::max(next, m->offset + 1);
    item.message.reset(m);
  }
}

// The message's type from outside its body: the type (or eventType) header,
// with cloudevents ce_type, and a typed topic's type. Sources that name
// different types make the message a dead letter: which one is meant is
// ambiguous.
void OrderConsumer::TypeFromOutside(rd_kafka_message_t* m, Item& item) const {
  std::vector<std::pair<std::string, std::string>> sources;
  std::string header = HeaderValue(m, "type");
  if (header.empty()) header = HeaderValue(m, "eventType");
  if (!header.empty()) sources.emplace_back("the type header", std::move(header));
  if (options_.cloudevents) {
    if (std::string ce = HeaderValue(m, "ce_type"); !ce.empty()) sources.emplace_back("ce_type", std::move(ce));
    item.event_id_header = HeaderValue(m, "ce_id");
  }
  for (const auto& [topic, type] : options_.typed_topics) {
    if (topic == item.topic) sources.emplace_back(absl::StrCat("topic ", topic), type);
  }
  for (std::size_t i = 1; i < sources.size(); ++i) {
    if (parser_.TypeOf(sources[i].second) != parser_.TypeOf(sources[0].second) ||
        !parser_.TypeOf(sources[0].second)) {
      item.type_conflict = base::InvalidField(
          "message", absl::StrCat(base::AsAbsl(sources[0].first), " says \"", sources[0].second, "\" but ",
                                  base::AsAbsl(sources[i].first), " says \"", sources[i].second, "\""));
      return;
    }
  }
  if (!sources.empty()) item.type_header = sources[0].second;
}

// The message's W3C traceparent header, kept when valid (it goes into the
// command, so into the ledger events and the public events); a malformed one
// is ignored and counted.
void OrderConsumer::TraceFromHeaders(rd_kafka_message_t* m, Item& item) const {
  std::string value = HeaderValue(m, "traceparent");
  if (value.empty()) return;
  if (metrics::TraceIdOf(value)) {
    item.traceparent = std::move(value);
  } else {
    counters_->traceparent_malformed += 1;
  }
}

ledger::Command OrderConsumer::CommandOf(const Job& job) const {
  ledger::Command command = ToCommand(*job.source, options_.commands);
  command.meta.traceparent = job.traceparent;
  return command;
}

// Parses every message; a good one gets its command (not yet submitted).
void OrderConsumer::Prepare(Batch& batch) {
  for (Item& item : batch.items) {
    if (!item.type_conflict.ok()) {
      item.dead = item.type_conflict;
      item.dead_reason = DeadLetterReason::kTypeConflict;
      continue;
    }
    absl::StatusOr<OrderEvent> event =
        parser_.Parse(item.body, MessageContext{.type = item.type_header, .event_id = item.event_id_header});
    if (!event.ok()) {
      item.dead = event.status();
      item.dead_reason = item.body.size() > options_.parser.message_bytes_max ? DeadLetterReason::kTooLarge
                                                                             : DeadLetterReason::kInvalidMessage;
      continue;
    }
    item.event = std::move(*event);
    Job& job = item.job.emplace();
    job.source = &*item.event;
    job.traceparent = item.traceparent;
    job.command = CommandOf(job);
    job.result.status = absl::UnavailableError("not submitted yet");
    if (item.event->type != OrderEventType::kOrderCreated) {
      job.reservation_id = ledger::ReservationIdForOrder(item.event->order_id);
    }
  }
}

// A failure without a rejection: the log did not take the command
// (UNAVAILABLE, or FAILED_PRECONDITION from a fenced writer), so it has no
// durable answer yet.
std::vector<OrderConsumer::Job*> OrderConsumer::Unanswered(Batch& batch) {
  std::vector<Job*> out;
  for (Item& item : batch.items) {
    if (item.job && !item.job->result.status.ok() && !item.job->result.rejection) out.push_back(&*item.job);
  }
  return out;
}

// Queues every job without a durable answer; their completions
// count down batch.latch. False when the writer's queue refused them (they
// stay unanswered; Wait retries).
bool OrderConsumer::Submit(Batch& batch) {
  INV_CHECK(batch.latch == nullptr);
  std::vector<Job*> todo = Unanswered(batch);
  if (todo.empty()) return true;
  auto latch = std::make_unique<AnswerLatch>(todo.size());
  std::vector<std::pair<ledger::Command, command_api::Completion>> commands;
  commands.reserve(todo.size());
  for (Job* job : todo) {
    auto done = [job, l = latch.get(), this](const command_api::WriteResult& r, const ledger::State& state) {
      Answer(job, r, state);
      l->CountDown();
    };
    if (job->sent) job->command = CommandOf(*job);  // a retry
    job->sent = true;
    commands.emplace_back(std::move(job->command), std::move(done));
  }
  absl::Status queued = writer_->SubmitMany(std::move(commands));
  if (!queued.ok()) {
    if (!stopping_) spdlog::warn("order consumer: writer refused {} commands: {}", todo.size(), queued.ToString());
    return false;
  }
  batch.latch = std::move(latch);
  return true;
}

// On the writer thread: records the answer and, for a refused commit or
// release, the reservation's status; for an accepted cancellation, whether
// it returned stock (the reservation stays committed when it did).
void OrderConsumer::Answer(Job* job, const command_api::WriteResult& r, const ledger::State& state) {
  job->result = r;
  if (job->source->type == OrderEventType::kOrderCreated) return;
  const bool refused_as_resolved = r.rejection && r.rejection->reason == RejectionReason::kAlreadyResolved;
  const bool cancelled = r.status.ok() && !r.duplicate && job->source->type == OrderEventType::kOrderCancelled;
  if (!refused_as_resolved && !cancelled) return;
  const ledger::ReservationState* res = state.reservation(job->reservation_id);
  if (res == nullptr) return;
  job->reservation_status = res->status();
  job->returned_stock = cancelled && res->status() == ledger::ReservationStatus::kCommitted;
}

// Waits for the submitted jobs, then resubmits the ones the log could not
// take, with backoff, until all have durable answers. False: stopping before
// they did.
bool OrderConsumer::Wait(Batch& batch) {
  std::int64_t wait_ms = options_.retry_backoff_ms;
  while (true) {
    if (batch.latch != nullptr) {
      batch.latch->Wait();
      batch.latch.reset();
    }
    if (Unanswered(batch).empty()) return true;
    if (stopping_) return false;
    Backoff(wait_ms);
    Submit(batch);
  }
}

// After the batch's orders are answered: sorts the outcomes, delivers dead
// letters and reservation_failed, stores offsets.
bool OrderConsumer::Finish(Batch& batch) {
  Classify(batch);
  if (!Deliver(batch)) return false;
  StoreOffsets(batch);
  CountOutcomes(batch);
  return true;
}

// The message's type label: the parsed type, else the type from outside its
// body when that names one, else "unknown".
std::size_t OrderConsumer::TypeIndex(const Item& item) const {
  if (item.event) return static_cast<std::size_t>(item.event->type);
  if (std::optional<OrderEventType> t = parser_.TypeOf(item.type_header)) return static_cast<std::size_t>(*t);
  return kMessageTypeCount - 1;
}

// Counts a finished batch by type and outcome, and its dead letters by reason.
void OrderConsumer::CountOutcomes(const Batch& batch) {
  Counters& c = *counters_;
  for (const Item& item : batch.items) {
    const MessageOutcome outcome = item.dead.ok() ? item.outcome : MessageOutcome::kDeadLetter;
    c.by_type[TypeIndex(item)][static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
    if (!item.dead.ok()) {
      c.dead_letters_by_reason[static_cast<std::size_t>(item.dead_reason)].fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void OrderConsumer::Classify(Batch& batch) {
  const std::int64_t now_ms = NowMs();
  Counters& c = *counters_;
  for (Item& item : batch.items) {
    if (!item.job) continue;
    const command_api::WriteResult& r = item.job->result;
    const OrderEventType type = item.event->type;
    item.outcome = r.status.ok() && r.duplicate ? MessageOutcome::kDuplicate : MessageOutcome::kApplied;
    if (r.status.ok()) {
      if (r.duplicate) {
        c.duplicates += 1;
      } else if (type == OrderEventType::kOrderCreated) {
        c.reserved += 1;
      } else if (type == OrderEventType::kPaymentConfirmed) {
        c.committed += 1;
      } else if (item.job->returned_stock) {
        c.returned += r.positions.size();  // one stock return per committed allocation
      } else {
        c.released += 1;
      }
      continue;
    }
    INV_CHECK(r.rejection.has_value());  // answers the log did not take were retried by Wait
    const ledger::Rejection& rejection = *r.rejection;
    if (type == OrderEventType::kOrderCreated && IsReservationRefusal(rejection.reason)) {
      c.reservation_failed += 1;
      item.outcome = MessageOutcome::kRefused;
      item.failed = ReservationFailed(item.event->event_id, item.event->order_id.value(),
                                      ledger::ReservationIdForOrder(item.event->order_id).value(), rejection,
                                      ledger::AtEpochMs(now_ms));
      item.failed->traceparent = item.traceparent;
      continue;
    }
    const bool unknown_or_resolved = rejection.reason == RejectionReason::kUnknownReservation ||
                                     rejection.reason == RejectionReason::kAlreadyResolved;
    const bool committed_already = item.job->reservation_status == ledger::ReservationStatus::kCommitted;
    if (type == OrderEventType::kPaymentConfirmed && !committed_already) {
      item.dead = absl::FailedPreconditionError(absl::StrCat("cannot commit: ", rejection.ToStatus().message()));
      item.dead_reason = DeadLetterReason::kCannotCommit;
      item.outcome = MessageOutcome::kDeadLetter;
    } else if (unknown_or_resolved || type == OrderEventType::kPaymentConfirmed) {
      c.ignored += 1;
      item.outcome = MessageOutcome::kIgnored;
    } else {
      item.dead = rejection.ToStatus();
      item.dead_reason = DeadLetterReason::kLedgerRefused;
      item.outcome = MessageOutcome::kDeadLetter;
    }
  }
}

// `text` cut to `max` bytes; `cut` says whether it was.
static std::string_view Cut(std::string_view text, std::size_t max, bool* cut) {
  *cut = *cut || text.size() > max;
  return text.substr(0, max);
}

// The dead letter of a refused message: its body and key (cut to the
// options' bounds, saying so in headers) and where it came from.
OrderConsumer::DeadLetter OrderConsumer::MakeDeadLetter(const Item& item) const {
  DeadLetter d;
  bool key_cut = false, body_cut = false;
  d.key = Cut(item.key, options_.dlq_key_bytes_max, &key_cut);
  d.body = Cut(item.body, options_.dlq_body_bytes_max, &body_cut);
  bool header_cut = false;
  d.headers = {{"error", std::string(Cut(base::AsStd(item.dead.message()), options_.dlq_key_bytes_max, &header_cut))},
               {"source.topic", item.topic},
               {"source.partition", std::to_string(item.partition)},
               {"source.offset", std::to_string(item.offset)},
               {"source.key", std::string(d.key)}};
  if (std::optional<std::string> field = base::FieldOf(item.dead)) {
    d.headers.emplace_back("error.field", std::string(Cut(*field, options_.dlq_key_bytes_max, &header_cut)));
  }
  if (!item.traceparent.empty()) d.headers.emplace_back("traceparent", item.traceparent);
  if (!item.type_header.empty()) {
    d.headers.emplace_back("type", std::string(Cut(item.type_header, options_.dlq_key_bytes_max, &header_cut)));
  }
  if (body_cut) {
    d.headers.emplace_back("body.truncated", "true");
    d.headers.emplace_back("body.bytes", std::to_string(item.body.size()));
  }
  if (key_cut) {
    d.headers.emplace_back("key.truncated", "true");
    d.headers.emplace_back("key.bytes", std::to_string(item.key.size()));
  }
  if (header_cut) d.headers.emplace_back("headers.truncated", "true");
  return d;
}

// Produces the batch's dead letters and reservation_failed events, retrying
// what Kafka could not take for now. A message Kafka refuses for good (even
// cut to the bounds) is final: logged and counted, never retried, so one
// message cannot stop the partitions behind it. False: stopping first.
bool OrderConsumer::Deliver(Batch& batch) {
  std::int64_t wait_ms = options_.retry_backoff_ms;
  std::uint64_t dead = 0;
  std::uint64_t lost = 0;
  auto final_refusal = [&](const Item& item, const absl::Status& status) {
    lost += 1;
    spdlog::error("order consumer: dead letter for {}:{} refused by Kafka for good, passed over: {}",
                  item.partition, item.offset, status.ToString());
  };
  while (true) {
    absl::Status status;
    dead = 0;
    lost = 0;
    for (const Item& item : batch.items) {
      if (!status.ok()) break;
      if (!item.dead.ok()) {
        dead += 1;
        const DeadLetter d = MakeDeadLetter(item);
        status = producer_->Produce(options_.dlq_topic, d.key, d.body, d.headers);
        if (absl::IsInvalidArgument(status)) {
          final_refusal(item, status);
          status = absl::OkStatus();
        }
      }
      if (item.failed && status.ok()) {
        status = producer_->Produce(options_.public_topic, item.failed->key, item.failed->json,
                                    HeadersOf(*item.failed));
      }
    }
    if (status.ok()) status = producer_->Flush();
    if (absl::IsInvalidArgument(status)) {
      // Every failed delivery was refused for good by the broker: final.
      spdlog::error("order consumer: Kafka refused messages for good, passed over: {}", status.ToString());
      lost += 1;
      status = absl::OkStatus();
    }
    if (status.ok()) break;
    if (stopping_) return false;
    spdlog::warn("order consumer: producing dead letters / public events: {}; retrying", status.ToString());
    Backoff(wait_ms);
  }
  counters_->dead_letters_lost += lost;
  for (const Item& item : batch.items) {
    if (!item.dead.ok()) {
      logging::ScopedLogFields fields({{"trace_id", metrics::TraceIdOf(item.traceparent).value_or("")}});
      spdlog::info("order consumer: dead letter {}:{}: {}", item.partition, item.offset,
                   base::AsStd(item.dead.message()));
    }
  }
  counters_->dead_letters += dead;
  return true;
}

void OrderConsumer::StoreOffsets(const Batch& batch) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(batch.next_offsets.size()));
  for (const auto& [where, next] : batch.next_offsets) {
    rd_kafka_topic_partition_list_add(list, where.first.c_str(), where.second)->offset = next;
  }
  const rd_kafka_resp_err_t err = rd_kafka_offsets_store(consumer_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // A partition revoked meanwhile: harmless, its new owner redelivers and
    // the ledger answers duplicates.
    counters_->offset_commit_errors += 1;
    spdlog::warn("order consumer: storing offsets: {}", rd_kafka_err2str(err));
  }
}

void OrderConsumer::Backoff(std::int64_t& wait_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  wait_ms = std::min(wait_ms * 2, options_.retry_backoff_max_ms);
}

}  // namespace orders
