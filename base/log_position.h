// The vocabulary of log positions and next-offset bounds that the pure core (snapshots) and the
// event log (eventlog/) share, so the core need not depend on the log.
//
// A position is (partition, offset). Within a partition offsets strictly
// increase but need not be contiguous (Kafka spends offsets on transaction
// markers; see eventlog/event_log.h).
//
// Thread-safety: plain values.
#ifndef BASE_LOG_POSITION_H_
#define BASE_LOG_POSITION_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <utility>
#include <vector>

namespace base {

struct LogPosition {
  uint32_t partition = 0;
  uint64_t offset = 0;

  friend auto operator<=>(const LogPosition&, const LogPosition&) = default;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
  friend std::ostream& operator<<(std::ostream& os, const LogPosition& p) {
    return os << p.partition << ":" << p.offset;
  }
};

// Per partition, the next offset: every offset below next[p] is covered (read,
// applied, folded, published) and none at or above it. An exclusive bound, so
// a fresh reader starts at Zero(n) and a caught-up one equals the log's
// EndOffsets(). The size is the log's partition count.
//
// Offsets need not be contiguous (Kafka spends them on transaction markers),
// so a difference of offsets bounds the number of events from above.
class NextOffsets {
 public:
  NextOffsets() = default;
  // Offsets listed per partition: NextOffsets{9, 5} is partition 0 at 9 and
  // partition 1 at 5 (never a count; see Zero).
  NextOffsets(std::initializer_list<uint64_t> next) : next_(next) {}
  explicit NextOffsets(std::vector<uint64_t> next) : next_(std::move(next)) {}
  // Nothing covered, in each of `partitions` partitions.
  static NextOffsets Zero(size_t partitions) { return NextOffsets(std::vector<uint64_t>(partitions, 0)); }
  // The least bounds covering every one of `positions`.
  // REQUIRES: each position's partition < partitions.
  static NextOffsets Covering(size_t partitions, std::span<const LogPosition> positions) {
    NextOffsets out = Zero(partitions);
    for (const LogPosition& position : positions) out.Advance(position);
    return out;
  }

  size_t size() const { return next_.size(); }
  bool empty() const { return next_.empty(); }
  uint64_t operator[](size_t p) const { return next_[p]; }
  uint64_t& operator[](size_t p) { return next_[p]; }
  std::vector<uint64_t>::const_iterator begin() const { return next_.begin(); }
  std::vector<uint64_t>::const_iterator end() const { return next_.end(); }
  const std::vector<uint64_t>& values() const { return next_; }

  // Whether the record at `position` is below the bound of its partition.
  bool Covers(const LogPosition& position) const {
    return position.partition < next_.size() && position.offset < next_[position.partition];
  }
  // Marks the record at `position` covered: next[p] becomes at least
  // offset + 1 (never moves back). REQUIRES: position.partition < size().
  void Advance(const LogPosition& position) {
    uint64_t& next = next_[position.partition];
    if (position.offset >= next) next = position.offset + 1;
  }
  // How many offsets these bounds are behind `ends` (e.g. the log's
  // EndOffsets()), summed over partitions; a partition ahead counts 0. An
  // upper bound on the events behind (see above). Partitions beyond either
  // size are not counted.
  uint64_t EventsBehind(const NextOffsets& ends) const {
    uint64_t behind = 0;
    for (size_t p = 0; p < next_.size() && p < ends.size(); ++p) {
      if (ends.next_[p] > next_[p]) behind += ends.next_[p] - next_[p];
    }
    return behind;
  }
  // The sum of the bounds: the offsets covered since zero.
  uint64_t Total() const {
    uint64_t total = 0;
    for (uint64_t n : next_) total += n;
    return total;
  }

  friend bool operator==(const NextOffsets&, const NextOffsets&) = default;
  // "[9, 5]"
  friend std::ostream& operator<<(std::ostream& os, const NextOffsets& n) {
    os << "[";
    for (size_t p = 0; p < n.next_.size(); ++p) os << (p ? ", " : "") << n.next_[p];
    return os << "]";
  }

 private:
  std::vector<uint64_t> next_;
};

// The largest partition count any log backend accepts, and so the most
// entries a stored position vector (a snapshot's, the views') may have.
inline constexpr uint32_t kPartitionCountMax = 1024;

}  // namespace base

#endif  // BASE_LOG_POSITION_H_
