// StreamInventoryUpdates: one server-streaming call.
//
// Contract:
//  * Filters (all optional, ANDed): skus, warehouses, kinds (Movement.kind),
//    low_stock_only.
//  * Start: `from_beginning` catches up from offset 0 of every partition;
//    `start_after` resumes after the given positions (a partition it does not
//    name starts at offset 0); neither = live only. Catch-up reads the views'
//    movements (Snapshot::ForEachUpdateFrom, partition by partition, in
//    chunks on a worker pool), then the stream goes live.
//  * The seam: the subscription joins the hub (live updates start queueing)
//    before the catch-up snapshot is taken; catch-up delivers everything the
//    snapshot applied; a live update is then delivered only if its offset is
//    at or past the next offset owed on its partition. So nothing is lost
//    and nothing is sent twice. Every message carries its position; order is
//    the log's within a partition (none is promised across partitions).
//  * One write in flight; the next starts from OnWriteDone or when the hub
//    offers updates to an idle stream. Nothing blocks in a callback; the
//    reactor deletes itself only in OnDone.
//  * A subscriber whose queue would pass buffer_max is ended with
//    RESOURCE_EXHAUSTED; it resumes with start_after = the last position
//    it received. It never slows the projector or other subscribers.
//
// Thread-safety: driven by gRPC, the hub thread and the catch-up pool.
#ifndef QUERY_API_STREAM_UPDATES_H_
#define QUERY_API_STREAM_UPDATES_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>

#include "absl/status/status.h"
#include "proto/query_service.pb.h"
#include "query-api/update_hub.h"
#include "query-api/view_source.h"
#include "metrics/service_metrics.h"
#include "query-api/worker_pool.h"

namespace query_api {

struct StreamOptions {
  // Updates queued per subscriber before it is cut off. Default 4096.
  size_t buffer_max = 4096;
  // Updates read per catch-up step. Default 256.
  size_t catch_up_chunk = 256;
  // Rows a catch-up step examines at most (a selective filter scans more
  // rows than it sends). Default 8192.
  size_t catch_up_scan_max = 8192;
  // Most entries in skus / warehouses / kinds. Default 1000.
  int filter_entries_max = 1000;
  // Counts subscribers cut for falling behind; null = not counted.
  metrics::ServiceMetrics* metrics = nullptr;
};

// Everything a stream needs; owned by the service, outlives every stream.
struct StreamContext {
  ViewSource* source = nullptr;
  UpdateHub* hub = nullptr;
  WorkerPool* catch_up_pool = nullptr;
  StreamOptions options;
};

// INVALID_ARGUMENT naming the field when the request is malformed.
absl::Status ValidateStreamRequest(const inventory::v1::StreamInventoryUpdatesRequest& req, uint32_t partition_count,
                                   const StreamOptions& options);

// Starts one stream; gRPC owns the returned reactor. An admitted stream
// sends its initial metadata at once, marked with
// inventory::v1::kStreamAdmittedMetadataKey (proto/rejection_metadata.h);
// a refused one answers with its status only.
grpc::ServerWriteReactor<inventory::v1::InventoryUpdate>* StartUpdateStream(grpc::CallbackServerContext* ctx,
    const StreamContext& context, const inventory::v1::StreamInventoryUpdatesRequest& req);

}  // namespace query_api

#endif  // QUERY_API_STREAM_UPDATES_H_
