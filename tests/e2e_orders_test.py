#!/usr/bin/python3
"""End to end: order events from Kafka, dead letters and integration events.

Usage: e2e_orders_test.py <inventoryd> <inventory-dev-kafka> <kcat> <proto dir>

Starts the development broker (librdkafka's mock cluster) and inventoryd with
--orders-brokers, seeds stock over gRPC, then produces a script of order
events with kcat (malformed ones included) and consumes order.events.dlq and
inventory.public with kcat to check the expected reservations, commits,
releases, returns, reservation failures and dead letters. Then:
  * redelivery: a restart with a fresh consumer group reads order.events from
    the start again; the ledger and the set of public eventIds do not change;
  * restart mid-stream: 300 more orders, inventoryd is stopped while it
    consumes them (SIGTERM, then once more with kill -9) and restarted; every
    order is reserved exactly once.
The mock cluster does not enforce transactions, so this checks effectively
once through idempotency, not exactly-once delivery.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import grpc

import inventoryd_harness

INVENTORYD, BROKER, KCAT, PROTO = (os.path.abspath(a) for a in sys.argv[1:5])
WORK = tempfile.mkdtemp(prefix="e2e-orders-")
procs = []



def fail(msg):
    raise SystemExit("FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def load_stubs():
    out = os.path.join(WORK, "stubs")
    os.makedirs(out)
    inventoryd_harness.compile_protos(PROTO, out)


load_stubs()
import command_service_pb2 as cmd  # noqa: E402
import command_service_pb2_grpc as cmd_grpc  # noqa: E402
import common_pb2 as common  # noqa: E402

broker_out = os.path.join(WORK, "broker.out")
procs.append(subprocess.Popen([BROKER, "--topic", "order.events:2", "--topic", "order.events.dlq:1",
                               "--topic", "inventory.public:2"],
                              stdout=open(broker_out, "w"), stderr=open(os.path.join(WORK, "broker.err"), "w")))
BROKERS = inventoryd_harness.first_line(broker_out)
server = None
stub = None


def start(group="inventory-orders", batch=8192):
    global server, stub
    out = os.path.join(WORK, "serve.out")
    if os.path.exists(out):
        os.remove(out)
    server = subprocess.Popen([INVENTORYD, "serve", "--data-dir", os.path.join(WORK, "data"),
                               "--listen", "127.0.0.1:0", "--orders-brokers", BROKERS, "--orders-group", group,
                               "--orders-batch-messages", str(batch)],
                              stdout=open(out, "w"), stderr=open(os.path.join(WORK, "serve.err"), "a"))
    procs.append(server)
    target = inventoryd_harness.first_line(out).replace("listening on ", "")
    stub = cmd_grpc.CommandServiceStub(grpc.insecure_channel(target))


def stop(sig=signal.SIGTERM):
    server.send_signal(sig)
    code = server.wait(timeout=60)
    if sig == signal.SIGTERM:
        check(code == 0, "inventoryd exited with %d" % code)


def ctx(command_id):
    return cmd.CommandContext(command_id=command_id, actor="e2e-orders")


def available(sku):
    """The SKU's available stock, read from a refused over-reservation."""
    try:
        stub.CheckAndReserveStock(cmd.CheckAndReserveStockRequest(
            context=ctx("probe-%f" % time.time()), order_id="probe",
            lines=[common.OrderLine(sku=sku, quantity=1000000000)]), timeout=10)
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, "probe: %s" % e)
        return int(e.details().split("available ")[1].split(" ")[0].rstrip(")"))
    fail("probe reservation was accepted")


def produce(lines, header_type=None):
    """Produces key|value lines to order.events with kcat."""
    args = [KCAT, "-P", "-b", BROKERS, "-t", "order.events", "-K", "|", "-z", "none"]
    if header_type:
        args += ["-H", "type=" + header_type]
    subprocess.run(args, input="".join(l + "\n" for l in lines).encode(), check=True, timeout=60)


def consume(topic):
    """Every message of `topic` so far, as dicts (kcat -J envelopes)."""
    r = subprocess.run([KCAT, "-C", "-b", BROKERS, "-t", topic, "-o", "beginning", "-e", "-J", "-q"],
                       capture_output=True, timeout=60, check=True)
    out = []
    for line in r.stdout.decode().splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        h = m.get("headers") or []
        m["hdr"] = dict(zip(h[0::2], h[1::2]))
        out.append(m)
    return out


def public_events():
    return [json.loads(m["payload"]) for m in consume("inventory.public")]


def order(oid, items, eid=None, typed=True):
    body = {"eventId": eid or ("ev-" + oid), "orderId": oid, "items": items, "timestamp": "2026-03-01T12:00:00Z"}
    if typed:
        body["type"] = "order.created"
    return oid + "|" + json.dumps(body)


def step(oid, typ, eid):
    return oid + "|" + json.dumps({"type": typ, "eventId": eid, "orderId": oid})


try:
    start()
    stub.CreateWarehouse(cmd.CreateWarehouseRequest(context=ctx("wh"), warehouse=common.Warehouse(
        warehouse="BER-1", name="Berlin", region="eu", priority=1, active=True)), timeout=10)
    stub.CreateItem(cmd.CreateItemRequest(context=ctx("mug"), item=common.Item(sku="MUG", name="Mug",
                                                                               reorder_point=3)), timeout=10)
    stub.CreateItem(cmd.CreateItemRequest(context=ctx("cup"), item=common.Item(sku="CUP", name="Cup")), timeout=10)
    for sku, q in (("MUG", 10), ("CUP", 2)):
        stub.AdjustInventory(cmd.AdjustInventoryRequest(context=ctx("recv-" + sku), sku=sku, warehouse="BER-1",
                                                        receive_quantity=q), timeout=10)

    # --- the script ---------------------------------------------------------
    produce([
        order("o-1", [{"sku": "MUG", "quantity": 2, "warehouseId": "BER-1"}]),
        order("o-2", [{"sku": "MUG", "quantity": 3}, {"sku": "CUP", "quantity": 1}]),
        order("o-3", [{"sku": "CUP", "quantity": 5}]),                       # short: reservation_failed
        step("o-1", "payment.confirmed", "pay-1"),
        step("o-2", "payment.failed", "pay-2"),
        order("o-4", [{"sku": "MUG", "quantity": 1}]),
        step("o-4", "payment.successful", "pay-4"),
        step("o-4", "order.cancelled", "cancel-4"),                          # after commit: return
        order("o-5", [{"sku": "MUG", "quantity": 1}]),
        step("o-5", "order.cancelled", "cancel-5"),                          # active: release
        step("o-404", "payment.confirmed", "pay-404"),                       # DLQ: unknown reservation
        "bad-1|{not json",                                                   # DLQ: invalid JSON
        'bad-2|{"type":"order.created","eventId":"b2","items":[{"sku":"MUG","quantity":1}],"timestamp":1}',
        'bad-3|{"type":"order.created","eventId":"b3","orderId":"b-3","timestamp":1,"items":[{"sku":"MUG","quantity":-1}]}',
        'bad-4|{"type":"order.created","eventId":"b4","orderId":"b-4","timestamp":1,"items":[{"sku":"MUG","quantity":1000000000000}]}',
        'bad-5|{"type":"order.shipped","eventId":"b5","orderId":"b-5"}',
        'bad-6|{"type":"order.created","eventId":"b6","orderId":"b-6","timestamp":1,"items":[{"sku":"MUG","quantity":"2"}]}',
        'bad-7|{"type":"payment.failed","eventId":"b7","orderId":"b-7","pad":"' + "x" * 70000 + '"}',
    ])
    produce([order("o-6", [{"sku": "MUG", "quantity": 1}], typed=False)], header_type="order.created")

    expected_dlq = {"bad-1": "message", "bad-2": "orderId", "bad-3": "items[0].quantity",
                    "bad-4": "items[0].quantity", "bad-5": "message", "bad-6": "items[0].quantity",
                    "bad-7": "message", "o-404": None}
    dlq = inventoryd_harness.wait_for("dead letters", lambda: (lambda d: d if len(d) >= len(expected_dlq) else None)(
        consume("order.events.dlq")))
    check(len(dlq) == len(expected_dlq), "dead letters: %d" % len(dlq))
    for m in dlq:
        key, h = m["key"], m["hdr"]
        check(key in expected_dlq, "unexpected dead letter " + key)
        check(h.get("error"), "dead letter %s has no error header" % key)
        check(h.get("source.topic") == "order.events", "source.topic of " + key)
        check(h.get("source.partition", "").isdigit() and h.get("source.offset", "").isdigit(),
              "source position of %s: %s" % (key, h))
        if expected_dlq[key]:
            check(h.get("error.field") == expected_dlq[key], "%s: field %s, error %s" % (key, h.get("error.field"),
                                                                                     h.get("error")))
    errors = {m["key"]: m["hdr"]["error"] for m in dlq}
    check("unknown type" in errors["bad-5"], errors["bad-5"])
    check("bytes; at most" in errors["bad-7"], errors["bad-7"])
    check("cannot commit" in errors["o-404"], errors["o-404"])
    print("dead letters:", len(dlq), "ok")

    def settled():
        ev = public_events()
        kinds = [e["type"] for e in ev]
        return ev if kinds.count("inventory.reserved") >= 6 and kinds.count("inventory.released") >= 3 and \
            "inventory.reservation_failed" in kinds else None
    events = inventoryd_harness.wait_for("public events", settled)
    time.sleep(1.0)  # anything late would show up as an extra event below
    events = public_events()
    by = {}
    for e in events:
        by.setdefault(e["type"], []).append(e)
    reserved = sorted((e["orderId"], e["sku"], e["quantity"]) for e in by["inventory.reserved"])
    check(reserved == [("o-1", "MUG", 2), ("o-2", "CUP", 1), ("o-2", "MUG", 3), ("o-4", "MUG", 1),
                       ("o-5", "MUG", 1), ("o-6", "MUG", 1)], "reserved: %s" % reserved)
    confirmed = sorted(e["orderId"] for e in by["inventory.confirmed"])
    check(confirmed == ["o-1", "o-4"], "confirmed: %s" % confirmed)
    released = sorted((e["orderId"], e["reason"]) for e in by["inventory.released"])
    check(released == [("o-2", "payment_failed"), ("o-2", "payment_failed"), ("o-5", "order_cancelled")],
          "released: %s" % released)
    failed = by["inventory.reservation_failed"]
    check(len(failed) == 1 and failed[0]["orderId"] == "o-3" and failed[0]["reason"] == "insufficient_stock" and
          failed[0]["shortLines"] == [{"line": 0, "sku": "CUP", "requested": 5, "available": 1}],
          "reservation_failed: %s" % failed)
    returns = [e for e in by["inventory.stock_updated"] if e["cause"] == "stock_adjusted"]
    check(len(returns) == 1 and returns[0]["sku"] == "MUG" and returns[0]["newStock"] - returns[0]["oldStock"] == 1,
          "return: %s" % returns)
    check(len({e["eventId"] for e in events}) == len(events), "duplicate eventIds in the public topic")
    # MUG: 10 - 2 (o-1 committed) - 1 (o-6 reserved) = 7 available; o-4 committed and returned.
    mug, cup = available("MUG"), available("CUP")
    check((mug, cup) == (7, 2), "available MUG %d CUP %d" % (mug, cup))
    print("public events:", len(events), "ok")

    # --- redelivery: a fresh group reads everything again ------------------
    stop()
    ids_before = {e["eventId"] for e in public_events()}
    start(group="inventory-orders-replay")
    inventoryd_harness.wait_for("redelivered dead letters", lambda: len(consume("order.events.dlq")) >= 2 * len(expected_dlq))
    time.sleep(1.0)
    events = public_events()
    new_ids = {e["eventId"] for e in events} - ids_before
    check(not new_ids, "redelivery made new public events: %s" % [e for e in events if e["eventId"] in new_ids])
    check([e["type"] for e in events if e["eventId"] not in ids_before] == [], "new events")
    check((available("MUG"), available("CUP")) == (7, 2), "redelivery changed stock")
    print("redelivery: nothing changed ok")

    # --- restart mid-stream ------------------------------------------------
    stub.AdjustInventory(cmd.AdjustInventoryRequest(context=ctx("recv-more"), sku="MUG", warehouse="BER-1",
                                                    receive_quantity=100000), timeout=10)

    def reserved_events(orders):
        wanted = set(orders)
        return [e for e in public_events() if e["type"] == "inventory.reserved" and e["orderId"] in wanted]

    def check_once(orders, base, clean):
        n = len(orders)
        inventoryd_harness.wait_for("all reserved", lambda: len({e["orderId"] for e in reserved_events(orders)}) == n)
        time.sleep(1.0)
        got = reserved_events(orders)
        check(len({e["eventId"] for e in got}) == n, "distinct reserved events %d of %d" %
              (len({e["eventId"] for e in got}), n))
        if clean:
            check(len(got) == n, "a clean restart duplicated %d public events" % (len(got) - n))
        check(available("MUG") == base - n, "available MUG %d, expected %d" % (available("MUG"), base - n))
        return got

    # A: the stream continues while inventoryd is down (SIGTERM), deterministically.
    base = available("MUG")
    first = ["a-%d" % i for i in range(1000)]
    second = ["a-%d" % i for i in range(1000, 2000)]
    produce([order(o, [{"sku": "MUG", "quantity": 1}]) for o in first])
    inventoryd_harness.wait_for("first half reserved", lambda: len({e["orderId"] for e in reserved_events(first)}) == len(first))
    stop()
    produce([order(o, [{"sku": "MUG", "quantity": 1}]) for o in second])
    start(group="inventory-orders-replay")
    got = check_once(first + second, base, clean=True)
    print("restart mid-stream (SIGTERM between halves): %d orders reserved once ok" % len(got))

    # B: kill -9 while it consumes (one message per batch, so many offset commits are in flight).
    stop()
    start(group="inventory-orders-replay", batch=1)
    base = available("MUG")
    orders = ["b-%d" % i for i in range(5000)]
    produce([order(o, [{"sku": "MUG", "quantity": 1}]) for o in orders])
    inventoryd_harness.wait_for("the first reservations", lambda: reserved_events(orders), timeout=60)
    stop(signal.SIGKILL)
    before = len({e["orderId"] for e in reserved_events(orders)})
    start(group="inventory-orders-replay")
    got = check_once(orders, base, clean=False)
    print("restart mid-stream (kill -9 with %d of %d published): every order reserved once ok, "
          "%d public events (duplicates carry the same eventId)" % (before, len(orders), len(got)))
    stop()
    print("1 passed, 0 failed")
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    subprocess.run(["rm", "-rf", WORK])
