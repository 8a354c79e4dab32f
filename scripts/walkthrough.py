#!/usr/bin/python3
"""A first session with inventoryd, using python3-grpcio.

Start the service (scripts/run.sh), then in another terminal:

    /usr/bin/python3 scripts/walkthrough.py [127.0.0.1:50051]

It registers a warehouse and an item, receives stock, reserves part of it,
shows a refused over-reservation with its per-line availability, and commits
the reservation. Command ids make every step safe to re-run: a second run
answers each step as a duplicate instead of doing it twice.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "proto")


def load_stubs():
    out = tempfile.mkdtemp(prefix="inventory-stubs-")
    protos = [os.path.join(PROTO, p) for p in ("events.proto", "common.proto", "command_service.proto")]
    subprocess.run(["protoc", f"-I{PROTO}", f"--python_out={out}", f"--grpc_out={out}",
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", *protos], check=True)
    sys.path.insert(0, out)


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    load_stubs()
    import grpc
    import command_service_pb2 as cmd
    import command_service_pb2_grpc as cmd_grpc
    import common_pb2 as common

    stub = cmd_grpc.CommandServiceStub(grpc.insecure_channel(target))
    ctx = lambda command_id: cmd.CommandContext(command_id=command_id, actor="walkthrough")

    r = stub.CreateWarehouse(cmd.CreateWarehouseRequest(
        context=ctx("walk-wh"), warehouse=common.Warehouse(warehouse="BER-1", name="Berlin", region="eu",
                                                           priority=1, active=True)), timeout=5)
    print("warehouse:", r.warehouse.warehouse, "duplicate" if r.result.duplicate else "created")
    r = stub.CreateItem(cmd.CreateItemRequest(
        context=ctx("walk-item"), item=common.Item(sku="MUG-BLUE", name="Blue mug", category="kitchen",
                                                   reorder_point=5)), timeout=5)
    print("item:", r.item.sku, "duplicate" if r.result.duplicate else "created")
    r = stub.AdjustInventory(cmd.AdjustInventoryRequest(
        context=ctx("walk-receive"), sku="MUG-BLUE", warehouse="BER-1", receive_quantity=20,
        reference="PO-1001"), timeout=5)
    print(f"received: on_hand={r.level.on_hand} available={r.level.available}")
    r = stub.CheckAndReserveStock(cmd.CheckAndReserveStockRequest(
        context=ctx("walk-reserve"), order_id="ORDER-1",
        lines=[common.OrderLine(sku="MUG-BLUE", quantity=3)]), timeout=5)
    a = r.reservation.allocations[0]
    print(f"reserved: {r.reservation.reservation_id} {a.quantity} x {a.sku} at {a.warehouse}, "
          f"token {[(p.partition, p.offset) for p in r.result.token.positions]}")
    try:
        stub.CheckAndReserveStock(cmd.CheckAndReserveStockRequest(
            context=ctx("walk-too-many"), order_id="ORDER-2",
            lines=[common.OrderLine(sku="MUG-BLUE", quantity=500)]), timeout=5)
    except grpc.RpcError as e:
        details = dict(e.trailing_metadata() or ())
        rejection = common.Rejection.FromString(details["inventory-rejection-bin"])
        print(f"refused: {e.code().name}: {e.details()} "
              f"(line 0 available: {rejection.lines[0].available})")
    r = stub.CommitReservation(cmd.CommitReservationRequest(
        context=ctx("walk-commit"), reservation_id="r-walk-reserve"), timeout=5)
    print("committed:", common.ReservationStatus.Name(r.reservation.status))


if __name__ == "__main__":
    main()
