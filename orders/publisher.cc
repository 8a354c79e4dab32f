#include "orders/publisher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/coding.h"
#include "base/durable_file.h"
#include "base/status.h"
#include "ledger-io/event_reader.h"
#include "ledger/evolve.h"
#include "ledger/hash.h"
#include "orders/public_event.h"
#include "spdlog/spdlog.h"

namespace orders {
namespace {

constexpr std::string_view kMagic = "INVPUB01";
constexpr std::uint64_t kCheckSeed = 0x5055;

std::uint64_t Check(std::string_view bytes) {
  ledger::StableHasher h(kCheckSeed);
  h.AddBytes(bytes);
  return h.Finish();
}

}  // namespace

absl::StatusOr<base::NextOffsets> LoadPosition(const std::filesystem::path& path,
                                                        std::uint32_t partition_count) {
  absl::StatusOr<std::string> read = base::ReadWholeFile(path);
  if (absl::IsNotFound(read.status())) return base::NextOffsets::Zero(partition_count);
  if (!read.ok()) return absl::UnavailableError(absl::StrCat("publisher position: ", read.status().message()));
  const std::string& bytes = *read;
  const std::size_t expected = kMagic.size() + 4 + 8 * std::size_t{partition_count} + 8;
  if (bytes.size() < kMagic.size() + 4 || bytes.compare(0, kMagic.size(), kMagic) != 0) {
    return absl::DataLossError(absl::StrCat("publisher position ", path.string(), ": not a position file"));
  }
  const std::uint64_t count = base::DecodeFixed32Be(bytes.data() + kMagic.size());
  if (count != partition_count) {
    return absl::FailedPreconditionError(absl::StrCat("publisher position ", path.string(), " has ", count,
                                                      " partitions; the log has ", partition_count));
  }
  if (bytes.size() != expected || base::DecodeFixed64Be(bytes.data() + expected - 8) != Check(std::string_view(bytes).substr(0, expected - 8))) {
    return absl::DataLossError(absl::StrCat("publisher position ", path.string(), ": checksum mismatch"));
  }
  base::NextOffsets out = base::NextOffsets::Zero(partition_count);
  for (std::size_t p = 0; p < partition_count; ++p) out[p] = base::DecodeFixed64Be(bytes.data() + kMagic.size() + 4 + 8 * p);
  return out;
}

absl::Status SavePosition(const std::filesystem::path& path, const base::NextOffsets& next_offsets) {
  std::string bytes(kMagic);
  base::PutFixed32Be(&bytes, static_cast<std::uint32_t>(next_offsets.size()));
  for (std::uint64_t offset : next_offsets) base::PutFixed64Be(&bytes, offset);
  base::PutFixed64Be(&bytes, Check(bytes));
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
  absl::StatusOr<base::NextOffsets> position =
      LoadPosition(self->options_.position_path, log->partition_count());
  if (!position.ok()) return position.status();
  self->position_ = std::move(*position);
  self->saved_ = self->position_;
  RETURN_IF_ERROR(self->CatchUp());
  // Live: a record that will not decode stops the publisher there (kStop).
  ledger_io::EventReaderOptions reader_options;
  reader_options.read = {.read_batch_records = self->options_.batch_records_max,
                         .poll_interval_ms = std::chrono::milliseconds(self->options_.poll_timeout_ms)};
  reader_options.on_undecodable = ledger_io::ErrorPolicy::kStop;
  ASSIGN_OR_RETURN(self->reader_,
                   ledger_io::EventReader::Open(
                       log, {.mode = eventlog::ReadMode::kFollow, .start_offsets = self->position_}, reader_options));
  return self;
}

// Folds every record before the saved position, publishing nothing; a record
// that does not read, decode or fold ends Open (kAbort).
absl::Status Publisher::CatchUp() {
  ledger_io::EventReaderOptions reader_options;
  reader_options.read = {.read_batch_records = options_.replay_read_records, .background = true};
  reader_options.on_undecodable = ledger_io::ErrorPolicy::kAbort;
  ASSIGN_OR_RETURN(std::unique_ptr<ledger_io::EventReader> reader,
                   ledger_io::EventReader::Open(
                       log_,
                       {.start_offsets = base::NextOffsets::Zero(position_.size()), .end_offsets = position_},
                       reader_options));
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ledger_io::EventBatch> batch, reader->Next());
    if (!batch) return absl::OkStatus();
    for (const absl::StatusOr<ledger::Event>& event : batch->events) {
      RETURN_IF_ERROR(ledger::Evolve(state_, *event));
      records_ += 1;
    }
  }
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

base::NextOffsets Publisher::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return saved_;
}

absl::Status Publisher::Fold(const ledger_io::EventBatch& batch, std::vector<PublicEvent>* out) {
  for (const absl::StatusOr<ledger::Event>& event : batch.events) {  // all decoded (kStop)
    RETURN_IF_ERROR(FoldToPublicEvents(state_, *event, out));
    records_ += 1;
  }
  return absl::OkStatus();
}

bool Publisher::PublishAndSave(const std::vector<PublicEvent>& events, const base::NextOffsets& next) {
  std::int64_t wait_ms = options_.retry_backoff_ms;
  while (true) {
    absl::Status status;
    for (const PublicEvent& e : events) {
      status = producer_->Produce(options_.topic, e.key, e.json, HeadersOf(e));
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
    absl::StatusOr<std::optional<ledger_io::EventBatch>> batch =
        reader_->Next(std::chrono::milliseconds(options_.poll_timeout_ms));
    if (!batch.ok()) {  // a followed read retries from the same position
      spdlog::warn("publisher: reading the log: {}", batch.status().ToString());
      Backoff(wait_ms);
      continue;
    }
    wait_ms = options_.retry_backoff_ms;
    INV_CHECK(batch->has_value()) << "a followed read ends only after a bad record";
    std::vector<PublicEvent> events;
    absl::Status folded = (*batch)->bad.ok() ? Fold(**batch, &events) : (*batch)->bad;
    if (!folded.ok()) {
      // The log is the source of truth; a record that will not fold needs a person.
      spdlog::error("publisher stopped: {}", folded.ToString());
      failed_ = true;
      return;
    }
    if ((*batch)->events.empty()) continue;
    position_ = (*batch)->next_offsets;
    if (!PublishAndSave(events, position_)) return;
  }
}

void Publisher::Backoff(std::int64_t& wait_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  wait_ms = std::min(wait_ms * 2, options_.retry_backoff_max_ms);
}

}  // namespace orders
