// The query role of inventoryd: QueryService over the read models this
// process's projector keeps. tools/inventoryd.cc registers service() with its
// gRPC server.
//
// Stopping takes two steps because the server's Shutdown waits for every
// call: Drain() before the front doors shut down (streams end UNAVAILABLE and
// resumable, parked reads are answered), then Stop() or destruction after.
//
// Thread-safety: Start, Drain and Stop from one thread; service() is called
// by gRPC from its threads.
#ifndef QUERY_API_QUERY_ROLE_H_
#define QUERY_API_QUERY_ROLE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "projector/projector.h"
#include "query-api/query_service.h"
#include "query-api/view_source.h"

namespace query_api {

class QueryRole {
 public:
  // REQUIRES: projector outlives the role.
  static absl::StatusOr<std::unique_ptr<QueryRole>> Start(projector::Projector* projector,
                                                          QueryServiceOptions options = {}) {
    auto role = std::unique_ptr<QueryRole>(new QueryRole());
    role->source_ = ProjectorSource(projector);
    absl::StatusOr<std::unique_ptr<QueryServiceImpl>> service =
        QueryServiceImpl::Create(role->source_.get(), std::move(options));
    if (!service.ok()) return service.status();
    role->service_ = std::move(*service);
    return role;
  }

  // Ends every stream and answers every parked read; new calls are refused.
  void Drain() {
    if (service_ != nullptr && !drained_) service_->Drain();
    drained_ = true;
  }
  // Drains (if not yet) and releases the service and its listener.
  // REQUIRES: the gRPC server is shut down. Idempotent.
  void Stop() {
    Drain();
    service_.reset();
    source_.reset();
  }
  ~QueryRole() { Stop(); }

  QueryServiceImpl* service() const { return service_.get(); }

 private:
  QueryRole() = default;

  std::unique_ptr<ViewSource> source_;
  std::unique_ptr<QueryServiceImpl> service_;
  bool drained_ = false;
};

}  // namespace query_api

#endif  // QUERY_API_QUERY_ROLE_H_
