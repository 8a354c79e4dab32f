#include "eventlog/group_commit.h"

#include <utility>

#include "base/check.h"

namespace eventlog {

absl::StatusOr<std::vector<LogPosition>> GroupCommit::Submit(std::span<const LogRecord> records) {
  Writer self;
  self.records = records;
  std::unique_lock lock(mu_);
  queue_.push_back(&self);
  self.cv.wait(lock, [&] { return self.result.has_value() || queue_.front() == &self; });
  if (self.result.has_value()) return *std::move(self.result);

  // Leader: take the front of the queue, bounded by group_records_max_.
  std::vector<Writer*> group;
  std::vector<std::span<const LogRecord>> batches;
  size_t group_records = 0;
  for (Writer* writer : queue_) {
    if (!group.empty() && group_records + writer->records.size() > group_records_max_) break;
    group.push_back(writer);
    batches.push_back(writer->records);
    group_records += writer->records.size();
  }
  lock.unlock();
  absl::StatusOr<std::vector<std::vector<LogPosition>>> results = commit_(batches);
  lock.lock();

  INV_CHECK(!results.ok() || results->size() == group.size())
      << "commit returned " << results->size() << " results for " << group.size() << " batches";
  for (size_t i = 0; i < group.size(); ++i) {
    INV_CHECK(queue_.front() == group[i]) << "group commit queue reordered";
    queue_.pop_front();
    if (results.ok()) {
      group[i]->result = std::move((*results)[i]);
    } else {
      group[i]->result = results.status();
    }
    // Notify under the lock: a follower may return (and destroy its Writer)
    // as soon as it can observe its result.
    if (group[i] != &self) group[i]->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return *std::move(self.result);
}

}  // namespace eventlog
