// inventory.v1.QueryService over the projector's read models, on gRPC's
// callback API.
//
// Every unary read answers from one Snapshot and reports its applied offsets
// as ReadPosition (next offset to apply per partition: an event at (p, o) is
// reflected iff applied[p] > o). A read carrying read.min_token that the
// projector has not applied yet is parked in a ReadWaiter until it is (or
// until the call's deadline, capped at token_wait_max, gives
// DEADLINE_EXCEEDED saying how far behind the projector is); no gRPC thread
// waits. StreamInventoryUpdates is described in stream_updates.h.
//
// Errors: INVALID_ARGUMENT naming the field for malformed requests (page
// tokens included), NOT_FOUND for unknown SKUs, warehouses, reservations,
// RESOURCE_EXHAUSTED past the waiting-read and subscriber bounds, UNAVAILABLE
// for read-model I/O trouble.
//
// Thread-safety: gRPC calls the service from its own threads.
// REQUIRES: Drain, then shut the gRPC server down, then destroy the service.
#ifndef QUERY_API_QUERY_SERVICE_H_
#define QUERY_API_QUERY_SERVICE_H_

#include <chrono>
#include <memory>

#include "auth/grpc_gate.h"
#include "proto/query_service.grpc.pb.h"
#include "query-api/read_waiter.h"
#include "query-api/stream_updates.h"
#include "query-api/update_hub.h"
#include "query-api/view_source.h"
#include "query-api/worker_pool.h"

namespace query_api {

namespace pb = inventory::v1;

struct QueryServiceOptions {
  // page_size when a List request gives 0. Default 100.
  int page_size_default = 100;
  // Largest page_size accepted. Default 1000.
  int page_size_max = 1000;
  // Rows a List call examines for one page; a selective filter may return a
  // short (even empty) page with a next_page_token. Default 10000.
  int scan_rows_max = 10'000;
  // Most SKUs in GetInventoryLevels, lines in CheckAvailability. Default 1000.
  int skus_max = 1000;
  // Most SKUs in each report list (low stock, out of stock). Default 10000.
  int report_skus_max = 10'000;
  // Longest a read waits for its consistency token when the call has no
  // (or a later) deadline. Default 30 s.
  std::chrono::milliseconds token_wait_max{30'000};
  // Most reads parked waiting for a token. Default 4096.
  size_t waiting_reads_max = 4096;
  // How often parked reads are re-checked without a projector batch. Default 100 ms.
  std::chrono::milliseconds waiter_recheck_ms{100};
  // Stream subscribers (RESOURCE_EXHAUSTED past it) and hub queue.
  HubOptions hub;
  // Authenticates and authorises every call (auth/grpc_gate.h). Null: every
  // call is admitted. Default null. REQUIRES: outlives the service.
  auth::Authenticator* authenticator = nullptr;
  StreamOptions stream;
  // Threads and queued tasks for stream catch-up reads. Defaults 2 and 8192.
  size_t catch_up_threads = 2;
  size_t catch_up_queue_max = 8192;
};

class QueryServiceImpl final : public pb::QueryService::CallbackService {
 public:
  // Registers the service's one listener with `source`. REQUIRES: source
  // outlives the service.
  static absl::StatusOr<std::unique_ptr<QueryServiceImpl>> Create(ViewSource* source,
                                                                  QueryServiceOptions options = {});
  ~QueryServiceImpl() override;

  // Before the server shuts down (it waits for every call): answers parked
  // reads and ends every stream with UNAVAILABLE (streams can resume from
  // their last position), and refuses new ones.
  void Drain();

  size_t subscribers() const { return hub_->subscribers(); }
  size_t waiting_reads() const { return waiter_.pending(); }

  grpc::ServerUnaryReactor* GetItem(grpc::CallbackServerContext* ctx, const pb::GetItemRequest* req,
                                    pb::GetItemResponse* resp) override;
  grpc::ServerUnaryReactor* ListItems(grpc::CallbackServerContext* ctx, const pb::ListItemsRequest* req,
                                      pb::ListItemsResponse* resp) override;
  grpc::ServerUnaryReactor* GetInventoryLevels(grpc::CallbackServerContext* ctx,
                                               const pb::GetInventoryLevelsRequest* req,
                                               pb::GetInventoryLevelsResponse* resp) override;
  grpc::ServerUnaryReactor* CheckAvailability(grpc::CallbackServerContext* ctx,
                                              const pb::CheckAvailabilityRequest* req,
                                              pb::CheckAvailabilityResponse* resp) override;
  grpc::ServerUnaryReactor* BulkCheckAvailability(grpc::CallbackServerContext* ctx,
                                                  const pb::BulkCheckAvailabilityRequest* req,
                                                  pb::BulkCheckAvailabilityResponse* resp) override;
  grpc::ServerUnaryReactor* GetWarehouse(grpc::CallbackServerContext* ctx, const pb::GetWarehouseRequest* req,
                                         pb::GetWarehouseResponse* resp) override;
  grpc::ServerUnaryReactor* ListWarehouses(grpc::CallbackServerContext* ctx, const pb::ListWarehousesRequest* req,
                                           pb::ListWarehousesResponse* resp) override;
  grpc::ServerUnaryReactor* GetWarehouseInventory(grpc::CallbackServerContext* ctx,
                                                  const pb::GetWarehouseInventoryRequest* req,
                                                  pb::GetWarehouseInventoryResponse* resp) override;
  grpc::ServerUnaryReactor* GetReservation(grpc::CallbackServerContext* ctx, const pb::GetReservationRequest* req,
                                           pb::GetReservationResponse* resp) override;
  grpc::ServerUnaryReactor* ListReservations(grpc::CallbackServerContext* ctx,
                                             const pb::ListReservationsRequest* req,
                                             pb::ListReservationsResponse* resp) override;
  grpc::ServerUnaryReactor* ListMovements(grpc::CallbackServerContext* ctx, const pb::ListMovementsRequest* req,
                                          pb::ListMovementsResponse* resp) override;
  grpc::ServerUnaryReactor* GetInventoryReport(grpc::CallbackServerContext* ctx,
                                               const pb::GetInventoryReportRequest* req,
                                               pb::GetInventoryReportResponse* resp) override;
  grpc::ServerWriteReactor<pb::InventoryUpdate>* StreamInventoryUpdates(
      grpc::CallbackServerContext* ctx, const pb::StreamInventoryUpdatesRequest* req) override;

 private:
  QueryServiceImpl(ViewSource* source, QueryServiceOptions options);

  // Which snapshot a read answers from: the whole read models, or the
  // levels snapshot (ViewSource::NewLevelsSnapshot, in memory) that
  // availability reads need.
  enum class Views : uint8_t { kAll, kLevels };

  // Validates read.min_token, waits for it if needed, then runs `fill` on a
  // fresh snapshot and finishes the call.
  template <typename Resp, typename Fill>
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* ctx, const pb::ReadOptions& read, Resp* resp,
                                 Fill fill, Views views = Views::kAll);

  // The call's refusal by the gate (auth/grpc_gate.h), or null to proceed.
  grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* ctx, std::string_view method);

  ViewSource* const source_;
  const QueryServiceOptions options_;
  const auth::GrpcGate gate_;
  ReadWaiter waiter_;
  WorkerPool catch_up_pool_;
  std::unique_ptr<UpdateHub> hub_;
};

}  // namespace query_api

#endif  // QUERY_API_QUERY_SERVICE_H_
