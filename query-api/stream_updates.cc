#include "query-api/stream_updates.h"

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "proto/rejection_metadata.h"
#include "rpc/grpc_status.h"

namespace query_api {
namespace {

namespace pb = inventory::v1;
using Entry = std::shared_ptr<const pb::InventoryUpdate>;

struct Filter {
  absl::flat_hash_set<std::string> skus;
  absl::flat_hash_set<std::string> warehouses;
  absl::flat_hash_set<std::string> kinds;
  bool low_stock_only = false;

  explicit Filter(const pb::StreamInventoryUpdatesRequest& req)
      : skus(req.skus().begin(), req.skus().end()),
        warehouses(req.warehouses().begin(), req.warehouses().end()),
        kinds(req.kinds().begin(), req.kinds().end()),
        low_stock_only(req.low_stock_only()) {}

  bool Matches(const pb::InventoryUpdate& u) const {
    const pb::Movement& m = u.movement();
    if (!skus.empty() && !skus.contains(m.sku())) return false;
    if (!warehouses.empty() && !warehouses.contains(m.warehouse())) return false;
    if (!kinds.empty() && !kinds.contains(m.kind())) return false;
    return !low_stock_only || u.low_stock() || u.out_of_stock();
  }
};

using rpc::ToGrpc;

bool SameEvent(const pb::InventoryUpdate& a, const pb::InventoryUpdate& b) {
  return a.position().partition() == b.position().partition() && a.position().offset() == b.position().offset();
}

class Subscription;

// The gRPC side of one stream: forwards every reaction to the subscription.
class UpdateStream final : public grpc::ServerWriteReactor<pb::InventoryUpdate> {
 public:
  explicit UpdateStream(std::shared_ptr<Subscription> sub) : sub_(std::move(sub)) {}
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  std::shared_ptr<Subscription> sub_;
};

// The state of one stream. Shared by the reactor, the hub and catch-up tasks;
// every reactor operation (StartWrite, Finish) is decided under mu_ and
// issued by whoever set in_flight_ / finished_, so at most one write is in
// flight and nothing follows Finish.
class Subscription final : public HubSubscriber, public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(const StreamContext& ctx, const pb::StreamInventoryUpdatesRequest& req, uint32_t partitions)
      : ctx_(ctx), filter_(req), floor_(base::NextOffsets::Zero(partitions)) {}

  void Attach(UpdateStream* reactor) {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = reactor;
  }

  // Until Start, offered updates queue but nothing is written, so catch-up
  // (set up between joining the hub and Start) always goes first.
  void Start() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      started_ = true;
    }
    Pump();
  }

  // Catch up from `start` (next offset per partition) to the snapshot.
  void BeginCatchUp(base::NextOffsets start, std::unique_ptr<projector::Snapshot> snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    target_ = snapshot->applied();
    if (target_.size() != floor_.size()) {
      std::vector<uint64_t> resized = target_.values();
      resized.resize(floor_.size(), 0);
      target_ = base::NextOffsets(std::move(resized));
    }
    start_ = std::move(start);
    snapshot_ = std::move(snapshot);
    catching_up_ = true;
    cu_partition_ = 0;
    cu_offset_ = start_[0];
    for (size_t p = 0; p < floor_.size(); ++p) floor_[p] = std::max(start_[p], target_[p]);
  }

  void Offer(const std::shared_ptr<const AppliedUpdates>& batch) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reactor_ == nullptr || finishing_) return;
      std::vector<Entry> matched;
      for (const pb::InventoryUpdate& u : batch->updates) {
        if (filter_.Matches(u)) matched.emplace_back(batch, &u);  // aliases the shared batch
      }
      if (matched.empty()) return;
      // Whole batches only, so a cut never splits an event; an empty queue
      // takes any batch so one big batch cannot cut an idle subscriber.
      if (!live_.empty() && live_.size() + matched.size() > ctx_.options.buffer_max) {
        if (ctx_.options.metrics != nullptr) ctx_.options.metrics->OnStreamCut();
        finishing_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  absl::StrCat("subscriber fell more than ", ctx_.options.buffer_max,
                                               " updates behind; resume with start_after set to the last position "
                                               "received"));
      } else {
        live_.insert(live_.end(), matched.begin(), matched.end());
      }
    }
    Pump();
  }

  void Cut(const absl::Status& status) override { FinishWith(ToGrpc(status)); }

  void FinishWith(grpc::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!finishing_) finishing_ = std::move(status);
    }
    Pump();
  }

  void WriteDone(bool ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ = false;
      if (!ok) {
        cancelled_ = true;  // the stream is broken: write nothing more
        if (!finishing_) finishing_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream broken");
      }
    }
    Pump();
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    snapshot_.reset();
    live_.clear();
    catch_up_.clear();
  }

  // Starts the next write, the next catch-up read, or Finish, as due.
  void Pump() {
    UpdateStream* reactor = nullptr;
    Entry next;
    std::optional<grpc::Status> finish;
    bool read = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reactor_ == nullptr || !started_ || in_flight_ || finished_) return;
      next = NextLocked(&read);
      if (next) {
        in_flight_ = true;
        current_ = next;
        last_written_ = next;
      } else if (finishing_ && !read) {
        finished_ = true;
        finish = *finishing_;
      }
      reactor = reactor_;
    }
    if (next) reactor->StartWrite(next.get());
    if (finish) reactor->Finish(*finish);
    if (read) ScheduleRead();
  }

 private:
  // REQUIRES: mu_ held. The next update to write, if any; sets *read when a
  // catch-up read should be scheduled first.
  Entry NextLocked(bool* read) {
    if (finishing_) {
      // Cut or cancelled: only finish the event being written, so a resume
      // after the last position received loses nothing.
      std::deque<Entry>& q = catching_up_ ? catch_up_ : live_;
      if (!cancelled_ && last_written_ && !q.empty() && SameEvent(*q.front(), *last_written_)) return Pop(q);
      return nullptr;
    }
    if (catching_up_) {
      if (!catch_up_.empty()) return Pop(catch_up_);
      if (cu_partition_ < target_.size()) {
        if (!read_scheduled_) read_scheduled_ = *read = true;
        return nullptr;
      }
      catching_up_ = false;
      snapshot_.reset();
    }
    while (!live_.empty()) {
      Entry e = Pop(live_);
      if (e->position().offset() >= floor_[e->position().partition()]) return e;
    }
    return nullptr;
  }

  static Entry Pop(std::deque<Entry>& q) {
    Entry e = std::move(q.front());
    q.pop_front();
    return e;
  }

  void ScheduleRead() {
    std::shared_ptr<Subscription> self = shared_from_this();
    if (!ctx_.catch_up_pool->Submit([self] { self->ReadChunk(); })) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        read_scheduled_ = false;
      }
      FinishWith(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "catch-up queue full; retry later"));
    }
  }

  // On the catch-up pool: reads the next chunk of the current partition.
  void ReadChunk() {
    std::shared_ptr<const projector::Snapshot> snapshot;
    uint32_t p = 0;
    uint64_t from = 0;
    uint64_t until = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reactor_ == nullptr || finishing_) {
        read_scheduled_ = false;
        return;
      }
      snapshot = snapshot_;
      p = cu_partition_;
      from = cu_offset_;
      until = target_[p];
    }
    std::vector<Entry> got;
    uint64_t next_from = from;
    bool more = false;
    absl::Status status;
    if (from < until) {
      size_t scanned = 0;
      std::optional<uint64_t> stop_after;  // a limit was reached: finish this event, then stop
      status = snapshot->ForEachUpdateFrom(p, from, [&](const pb::InventoryUpdate& u) {
        uint64_t offset = u.position().offset();
        if (offset >= until) return false;
        if (stop_after && offset != *stop_after) {
          more = true;
          return false;
        }
        next_from = offset + 1;
        if (filter_.Matches(u)) got.push_back(std::make_shared<const pb::InventoryUpdate>(u));
        if (!stop_after && (++scanned >= ctx_.options.catch_up_scan_max || got.size() >= ctx_.options.catch_up_chunk)) {
          stop_after = offset;
        }
        return true;
      });
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      read_scheduled_ = false;
      if (!status.ok()) {
        if (!finishing_) finishing_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(status.message()));
      } else {
        catch_up_.insert(catch_up_.end(), got.begin(), got.end());
        if (more) {
          cu_offset_ = next_from;
        } else {
          ++cu_partition_;
          if (cu_partition_ < target_.size()) cu_offset_ = start_[cu_partition_];
        }
      }
    }
    Pump();
  }

  const StreamContext ctx_;
  const Filter filter_;

  std::mutex mu_;
  UpdateStream* reactor_ = nullptr;  // null once gRPC called OnDone
  bool started_ = false;
  bool in_flight_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  std::optional<grpc::Status> finishing_;  // finish with this once the current event is written
  Entry current_;                          // the update being written; owns its memory
  Entry last_written_;
  std::deque<Entry> live_;
  base::NextOffsets floor_;  // live updates below this offset were covered by catch-up

  bool catching_up_ = false;
  bool read_scheduled_ = false;
  std::deque<Entry> catch_up_;
  std::shared_ptr<const projector::Snapshot> snapshot_;
  base::NextOffsets start_;
  base::NextOffsets target_;
  uint32_t cu_partition_ = 0;
  uint64_t cu_offset_ = 0;

  friend class UpdateStream;
};

void UpdateStream::OnWriteDone(bool ok) { sub_->WriteDone(ok); }

void UpdateStream::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(sub_->mu_);
    sub_->cancelled_ = true;
  }
  sub_->FinishWith(grpc::Status::CANCELLED);
}

void UpdateStream::OnDone() {
  sub_->ctx_.hub->Remove(sub_.get());
  sub_->Detach();
  delete this;
}

// A stream refused at the start.
class RefusedStream final : public grpc::ServerWriteReactor<pb::InventoryUpdate> {
 public:
  explicit RefusedStream(const absl::Status& status) {
    Finish(ToGrpc(status));
  }
  void OnDone() override { delete this; }
};

absl::Status ValidateList(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view field,
                          int max) {
  if (list.size() > max) {
    return base::InvalidField(field, absl::StrCat("at most ", max, " entries, got ", list.size()));
  }
  for (int i = 0; i < list.size(); ++i) {
    if (list[i].empty()) return base::InvalidField(absl::StrCat(base::AsAbsl(field), "[", i, "]"), "must not be empty");
  }
  return absl::OkStatus();
}

// Next offset per partition the request starts from.
base::NextOffsets StartOffsets(const pb::StreamInventoryUpdatesRequest& req, uint32_t partitions) {
  base::NextOffsets start = base::NextOffsets::Zero(partitions);
  for (const pb::LogPosition& p : req.start_after().positions()) {
    start[p.partition()] = std::max(start[p.partition()], p.offset() + 1);
  }
  return start;
}

}  // namespace

absl::Status ValidateStreamRequest(const pb::StreamInventoryUpdatesRequest& req, uint32_t partition_count,
                                   const StreamOptions& options) {
  RETURN_IF_ERROR(ValidateList(req.skus(), "skus", options.filter_entries_max));
  RETURN_IF_ERROR(ValidateList(req.warehouses(), "warehouses", options.filter_entries_max));
  RETURN_IF_ERROR(ValidateList(req.kinds(), "kinds", options.filter_entries_max));
  if (req.from_beginning() && req.start_after().positions_size() > 0) {
    return base::InvalidField("start_after", "give either start_after or from_beginning, not both");
  }
  const auto& positions = req.start_after().positions();
  if (positions.size() > static_cast<int>(partition_count)) {
    return base::InvalidField("start_after.positions", absl::StrCat("at most one per partition (", partition_count, ")"));
  }
  for (int i = 0; i < positions.size(); ++i) {
    if (positions[i].partition() >= partition_count) {
      return base::InvalidField(absl::StrCat("start_after.positions[", i, "].partition"),
                                absl::StrCat("must be < ", partition_count));
    }
  }
  return absl::OkStatus();
}

grpc::ServerWriteReactor<pb::InventoryUpdate>* StartUpdateStream(grpc::CallbackServerContext* ctx,
                                                                 const StreamContext& context,
                                                                 const pb::StreamInventoryUpdatesRequest& req) {
  uint32_t partitions = context.source->partition_count();
  absl::Status valid = ValidateStreamRequest(req, partitions, context.options);
  if (!valid.ok()) return new RefusedStream(valid);
  auto sub = std::make_shared<Subscription>(context, req, partitions);
  auto* reactor = new UpdateStream(sub);
  sub->Attach(reactor);
  // Join the hub before taking the catch-up snapshot: see the seam above.
  absl::Status added = context.hub->Add(sub);
  if (!added.ok()) {
    sub->FinishWith(ToGrpc(added));
  } else {
    // Admitted: the initial metadata tells the client so at once (the HTTP
    // edge sends its status line on it), before any update. Before Start, so
    // it precedes every StartWrite.
    ctx->AddInitialMetadata(pb::kStreamAdmittedMetadataKey, "1");
    reactor->StartSendInitialMetadata();
    if (req.from_beginning() || req.start_after().positions_size() > 0) {
      sub->BeginCatchUp(StartOffsets(req, partitions), context.source->NewSnapshot());
    }
  }
  sub->Start();
  return reactor;
}

}  // namespace query_api
