// Metadata keys the services and their clients share. The trailing-metadata
// key under which a refused command's inventory.v1.Rejection travels with
// the gRPC status (command_service.proto).
// Both the service (command-api/) and the clients that read it (http-api/)
// name it from here.
#ifndef PROTO_REJECTION_METADATA_H_
#define PROTO_REJECTION_METADATA_H_

namespace inventory::v1 {

inline constexpr char kRejectionMetadataKey[] = "inventory-rejection-bin";

// The initial-metadata key StreamInventoryUpdates sends (value "1") once it
// has admitted a stream, before any update: a client (the HTTP edge) that
// must answer a refusal differently from a stream learns which it has before
// the first update. A refused stream answers with its status only.
inline constexpr char kStreamAdmittedMetadataKey[] = "inventory-stream-admitted";

}  // namespace inventory::v1

#endif  // PROTO_REJECTION_METADATA_H_
