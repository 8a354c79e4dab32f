#include "orders/publisher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/durable_file.h"
#include "base/status.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "ledger/hash.h"
#include "orders/public_event.h"
#include "spdlog/spdlog.h"

namespace orders {
namespace {

constexpr std::string_view kMagic = "INVPUB01";
constexpr std::uint64_t kCheckSeed = 0x5055;

void PutFixed(std::string* out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t GetFixed(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

std::uint64_t Check(std::string_view bytes) {
  ledger::StableHasher h(kCheckSeed);
  h.AddBytes(bytes);
  return h.Finish();
}

}  // namespace

absl::StatusOr<std::vector<std::uint64_t>> LoadPosition(const std::filesystem::path& path,
                                                        std::uint32_t partition_count) {
  absl::StatusOr<std::string> read = base::ReadWholeFile(path);
  if (absl::IsNotFound(read.status())) return std::vector<std::uint64_t>(partition_count, 0);
  if (!read.ok()) return absl::UnavailableError(absl::StrCat("publisher position: ", read.status().message()));
  const std::string& bytes = *read;
  const std::size_t expected = kMagic.size() + 4 + 8 * std::size_t{partition_count} + 8;
  if (bytes.size() < kMagic.size() + 4 || bytes.compare(0, kMagic.size(), kMagic) != 0) {
    return absl::DataLossError(absl::StrCat("publisher position ", path.string(), ": not a position file"));
  }
  const std::uint64_t count = GetFixed(bytes, kMagic.size(), 4);
  if (count != partition_count) {
    return absl::FailedPreconditionError(absl::StrCat("publisher position ", path.string(), " has ", count,
                                                      " partitions; the log has ", partition_count));
  }
  if (bytes.size() != expected || GetFixed(bytes, expected - 8, 8) != Check(std::string_view(bytes).substr(0, expected - 8))) {
    return absl::DataLossError(absl::StrCat("publisher position ", path.string(), ": checksum mismatch"));
  }
  std::vector<std::uint64_t> out(partition_count);
  for (std::size_t p = 0; p < partition_count; ++p) out[p] = GetFixed(bytes, kMagic.size() + 4 + 8 * p, 8);
  return out;
}

absl::Status SavePosition(const std::filesystem::path& path, const std::vector<std::uint64_t>& next_offsets) {
  std::string bytes(kMagic);
  PutFixed(&bytes, next_offsets.size(), 4);
  for (std::uint64_t offset : next_offsets) PutFixed(&bytes, offset, 8);
  PutFixed(&bytes, Check(bytes), 8);
  absl::Status saved = base::WriteFileDurably(path, bytes);
  if (!saved.ok()) return absl::UnavailableError(absl::StrCat("publisher position: ", saved.message()));
  return absl::OkStatus();
}

Publisher::Publisher(eventlog::EventLog* log, PublisherOptions options)
    : log_(log), options_(std::move(options)), state_(options_.ledger) {}

Publisher::~Publisher() { Stop(); }

absl::StatusOr<std::unique_ptr<Publisher>> Publisher::Open(eventlog::EventLog* log, PublisherOptions options) {
  if (options.position_path.empty()) return absl::InvalidArgumentError("publisher: no position path");
  if (options.batch_records_max == 0) return absl::InvalidArgumentError("publisher: batch_records_max is 0");
  std::unique_ptr<Publisher> self(new Publisher(log, std::move(options)));
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Open(self->options_.producer);
  if (!producer.ok()) return producer.status();
  self->producer_ = std::move(*producer);
  absl::StatusOr<std::vector<std::uint64_t>> position =
      LoadPosition(self->options_.position_path, log->partition_count());
  if (!position.ok()) return position.status();
  self->position_ = std::move(*position);
  self->saved_ = self->position_;
  RETURN_IF_ERROR(self->CatchUp());
  eventlog::TailOptions tail;
  tail.buffer_records_max = self->options_.batch_records_max;
  tail.poll_interval_ms = std::chrono::milliseconds(self->options_.poll_timeout_ms);
  self->tail_ = log->Tail(self->position_, tail);
  return self;
}

// Folds every record before the saved position, publishing nothing.
absl::Status Publisher::CatchUp() {
  for (std::uint32_t p = 0; p < position_.size(); ++p) {
    std::uint64_t from = 0;
    while (from < position_[p]) {
      ASSIGN_OR_RETURN(std::vector<eventlog::StoredRecord> records, log_->Read(p, from, options_.replay_read_records));
      if (records.empty()) break;
      for (const eventlog::StoredRecord& record : records) {
        if (record.position.offset >= position_[p]) break;  // published after the save: the tail has it
        ASSIGN_OR_RETURN(ledger::Event event, ledger::Decode(record.payload));
        RETURN_IF_ERROR(ledger::Evolve(state_, event));
        records_ += 1;
      }
      from = records.back().position.offset + 1;
    }
  }
  return absl::OkStatus();
}

void Publisher::Start() {
  INV_CHECK(!thread_.joinable());
  thread_ = std::thread([this] { Run(); });
}

void Publisher::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

PublisherStats Publisher::stats() const {
  return {.records = records_.load(),
          .published = published_.load(),
          .batches = batches_.load(),
          .failed = failed_.load()};
}

std::vector<std::uint64_t> Publisher::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return saved_;
}

absl::Status Publisher::Fold(const std::vector<eventlog::StoredRecord>& records, std::vector<PublicEvent>* out) {
  for (const eventlog::StoredRecord& record : records) {
    absl::StatusOr<ledger::Event> event = ledger::Decode(record.payload);
    if (!event.ok()) {
      return absl::Status(event.status().code(),
                          absl::StrCat("record ", record.position.partition, ":", record.position.offset, ": ",
                                       event.status().message()));
    }
    const ledger::WarehouseCode warehouse = TouchedWarehouse(event->payload).value_or(ledger::WarehouseCode());
    const LevelView before = ViewOf(state_, event->envelope.sku, warehouse);
    RETURN_IF_ERROR(ledger::Evolve(state_, *event));
    const LevelView after = ViewOf(state_, event->envelope.sku, warehouse);
    std::string order_id;
    std::visit(
        [&](const auto& p) {
          if constexpr (requires { p.reservation_id; }) {
            if (const ledger::ReservationState* r = state_.reservation(p.reservation_id)) order_id = r->order_id.value();
          }
        },
        event->payload);
    for (PublicEvent& e : ToPublicEvents(*event, before, after, order_id)) out->push_back(std::move(e));
    records_ += 1;
  }
  return absl::OkStatus();
}

bool Publisher::PublishAndSave(const std::vector<PublicEvent>& events, const std::vector<std::uint64_t>& next) {
  std::int64_t wait_ms = options_.retry_backoff_ms;
  while (true) {
    absl::Status status;
    for (const PublicEvent& e : events) {
      status = producer_->Produce(options_.topic, e.key, e.json, {{"type", e.type}, {"eventId", e.event_id}});
      if (!status.ok()) break;
    }
    if (status.ok()) status = producer_->Flush();
    if (status.ok()) status = SavePosition(options_.position_path, next);
    if (status.ok()) break;
    spdlog::warn("publisher: {}; retrying", status.ToString());
    if (stopping_) return false;
    Backoff(wait_ms);
  }
  published_ += events.size();
  batches_ += 1;
  std::lock_guard<std::mutex> lock(mu_);
  saved_ = next;
  return true;
}

void Publisher::Run() {
  std::int64_t wait_ms = options_.retry_backoff_ms;
  while (!stopping_) {
    absl::StatusOr<std::vector<eventlog::StoredRecord>> records =
        tail_->Next(std::chrono::milliseconds(options_.poll_timeout_ms));
    if (!records.ok()) {
      spdlog::warn("publisher: reading the log: {}", records.status().ToString());
      Backoff(wait_ms);
      continue;
    }
    wait_ms = options_.retry_backoff_ms;
    if (records->empty()) continue;
    std::vector<PublicEvent> events;
    absl::Status folded = Fold(*records, &events);
    if (!folded.ok()) {
      // The log is the source of truth; a record that will not fold needs a person.
      spdlog::error("publisher stopped: {}", folded.ToString());
      failed_ = true;
      return;
    }
    position_ = tail_->next_offsets();
    if (!PublishAndSave(events, position_)) return;
  }
}

void Publisher::Backoff(std::int64_t& wait_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  wait_ms = std::min(wait_ms * 2, options_.retry_backoff_max_ms);
}

}  // namespace orders
