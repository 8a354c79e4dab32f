// The integration-event publisher: reads the event log from its own durable
// position, folds each event into its own ledger::State (to know levels and
// reorder points before and after), produces the public events
// (orders/public_event.h) to the public topic, waits for their delivery, and
// only then saves the new position. Like a projector, it never depends on
// the command side being up, and a restart continues where it left off.
//
// Delivery is at least once with stable eventIds: a crash between delivery
// and the position save republishes that batch with the same ids. A clean
// Stop() saves the position, so a stop/start duplicates nothing.
//
// Start-up folds the log from offset 0 up to the saved position without
// publishing (the alerts need the levels); restart time grows with the log
// (no snapshots yet: docs/orders.md).
//
// Position file (PublisherOptions::position_path), written to a temporary
// file, fsynced and renamed over the old one:
//
//   position_file := magic:"INVPUB01" partition_count:fixed32be
//                    next_offset:fixed64be{partition_count} check:fixed64be
//   check := StableHasher(seed 0x5055) over every byte before it (ledger/hash.h)
//
// Thread-safety: Start/Stop/stats from any thread; the work runs on the
// publisher's thread.
#ifndef ORDERS_PUBLISHER_H_
#define ORDERS_PUBLISHER_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "ledger-io/event_reader.h"
#include "ledger/state.h"
#include "orders/kafka_producer.h"

namespace orders {

struct PublicEvent;

struct PublisherOptions {
  std::string topic = "inventory.public";
  std::filesystem::path position_path;  // required
  KafkaProducerOptions producer;        // bootstrap_servers required
  // Most log records folded and published per batch (one position save per
  // batch). Default 4096.
  std::size_t batch_records_max = 4'096;
  // How long one wait for new records lasts, ms. Default 100.
  std::int64_t poll_timeout_ms = 100;
  // Backoff while Kafka or the position file fails, ms: doubling to the max.
  std::int64_t retry_backoff_ms = 50;
  std::int64_t retry_backoff_max_ms = 5'000;
  // Records per log Read while catching up at start-up. Default 10000.
  std::size_t replay_read_records = 10'000;
  ledger::LedgerOptions ledger;
};

struct PublisherStats {
  std::uint64_t records = 0;    // log records folded since start (published or replayed)
  std::uint64_t published = 0;  // public events delivered
  std::uint64_t batches = 0;
  bool failed = false;          // stopped on an undecodable or invariant-breaking record
};

// Reads / writes the position file. A missing file is position zero;
// a damaged one is DATA_LOSS.
absl::StatusOr<base::NextOffsets> LoadPosition(const std::filesystem::path& path,
                                                        std::uint32_t partition_count);
absl::Status SavePosition(const std::filesystem::path& path, const base::NextOffsets& next_offsets);

class Publisher {
 public:
  // Loads the position and folds the log up to it. REQUIRES: log outlives the publisher.
  static absl::StatusOr<std::unique_ptr<Publisher>> Open(eventlog::EventLog* log, PublisherOptions options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Start();
  // Finishes the batch in hand (publishes it and saves the position) and joins. Idempotent.
  void Stop();

  PublisherStats stats() const;
  base::NextOffsets position() const;

 private:
  Publisher(eventlog::EventLog* log, PublisherOptions options);
  absl::Status CatchUp();
  void Run();
  absl::Status Fold(const ledger_io::EventBatch& batch, std::vector<PublicEvent>* out);
  bool PublishAndSave(const std::vector<PublicEvent>& events, const base::NextOffsets& next);
  void Backoff(std::int64_t& wait_ms);

  eventlog::EventLog* const log_;
  const PublisherOptions options_;
  std::unique_ptr<KafkaProducer> producer_;
  ledger::State state_;                  // publisher thread only
  base::NextOffsets position_;  // publisher thread only (Open before Start)
  std::unique_ptr<ledger_io::EventReader> reader_;  // follows the log from position_
  std::atomic<std::uint64_t> records_{0}, published_{0}, batches_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  base::NextOffsets saved_;  // guarded by mu_: the last saved position
  std::thread thread_;
};

}  // namespace orders

#endif  // ORDERS_PUBLISHER_H_
