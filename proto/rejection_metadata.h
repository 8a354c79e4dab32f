// The trailing-metadata key under which a refused command's
// inventory.v1.Rejection travels with the gRPC status (command_service.proto).
// Both the service (command-api/) and the clients that read it (http-api/)
// name it from here.
#ifndef PROTO_REJECTION_METADATA_H_
#define PROTO_REJECTION_METADATA_H_

namespace inventory::v1 {

inline constexpr char kRejectionMetadataKey[] = "inventory-rejection-bin";

}  // namespace inventory::v1

#endif  // PROTO_REJECTION_METADATA_H_
