// CheckAvailability over the read models: per-line availability and the
// allocation the command side would choose.
//
// ledger::Allocate works on the writer's in-memory ledger::State, which the
// query side does not have; this is the same algorithm over a Snapshot's
// levels and warehouses (ranking: fills the whole remaining line, then lower
// priority number, then preferred region, then code; optional greedy split;
// earlier lines' picks subtracted before later lines). availability_test.cc
// checks that both agree on randomly generated ledgers.
//
// Beyond Allocate, a line whose item is discontinued, whose named warehouse
// is inactive, or which a sales block refuses (the everywhere block, or the
// named warehouse's; ledger/stock_rules.h SalesBlockOf) cannot be fulfilled
// (the command side would refuse it), though its available quantity is still
// reported. Like Allocate, an open line skips warehouses whose sales are
// blocked.
//
// Thread-safety: pure function of the snapshot and the request.
#ifndef QUERY_API_AVAILABILITY_H_
#define QUERY_API_AVAILABILITY_H_

#include "absl/status/status.h"
#include "projector/read_models.h"
#include "proto/query_service.pb.h"

namespace query_api {

// REQUIRES: the request's shape is valid (lines non-empty, SKUs non-empty,
// quantities > 0). NOT_FOUND naming lines[i].sku / lines[i].warehouse for an
// unknown item or warehouse.
absl::Status FillAvailability(const projector::Snapshot& snapshot, const inventory::v1::CheckAvailabilityRequest& req,
                              inventory::v1::CheckAvailabilityResponse* out);

// BulkCheckAvailability: each check answered as FillAvailability would
// (independently: one check's picks do not reduce another's), appended to
// `out` in order, with the warehouses and each SKU's rows read once for all.
// REQUIRES: as FillAvailability, for every check. NOT_FOUND names the line
// within its check (lines[i].sku).
absl::Status FillAvailabilities(
    const projector::Snapshot& snapshot,
    const google::protobuf::RepeatedPtrField<inventory::v1::CheckAvailabilityRequest>& checks,
    google::protobuf::RepeatedPtrField<inventory::v1::CheckAvailabilityResponse>* out);

}  // namespace query_api

#endif  // QUERY_API_AVAILABILITY_H_
