#!/usr/bin/python3
"""Kill loop (docs/reliability.md "Kill loop"): SIGKILL a real inventoryd at
random moments under load, across its command, projector and orders roles,
and check what survives every kill.

    kill_loop.py <inventoryd> <inventoryctl> <inventory-dev-kafka> <kcat> <proto dir> [--kills N] [--seed S]

One inventoryd runs every role on the embedded log, with the order-event
consumer on the development broker (librdkafka's mock cluster; its topics
outlive inventoryd's restarts). Each round: start inventoryd, produce a batch
of order.created events with kcat, drive gRPC receipts (each with its own
command id, recording those answered OK) from two threads, wait a random
0.2..1.5 s (seeded), SIGKILL. After each restart:
  * every receipt acknowledged in the round is present: re-sent with its
    command id it is answered as a duplicate;
  * `inventoryctl audit` over the data dir is clean (the log folds with every
    invariant and the projector's views equal the fold at their position).
At the end, after a clean stop: every order produced was reserved exactly
once (one ReservationLineReserved of reservation r-<orderId> in the log,
`inventoryctl export`), and on hand equals the stock received plus every
acknowledged receipt (nothing lost, nothing doubled).

ctest runs 10 kills (kill_loop_test); scripts/kill_loop.sh runs 100.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventoryd_harness  # noqa: E402

ORDERS_PER_ROUND = 40
STOCK = 1_000_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('inventoryd')
    ap.add_argument('inventoryctl')
    ap.add_argument('broker')
    ap.add_argument('kcat')
    ap.add_argument('proto')
    ap.add_argument('--kills', type=int, default=100)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix='kill-loop-')
    stubs = os.path.join(work, 'stubs')
    os.makedirs(stubs)
    inventoryd_harness.compile_protos(os.path.abspath(a.proto), stubs)
    import command_service_pb2 as cmd
    import command_service_pb2_grpc as cmd_grpc

    broker_out = os.path.join(work, 'broker.out')
    broker = subprocess.Popen([os.path.abspath(a.broker), '--topic', 'order.events:2', '--topic',
                               'order.events.dlq:1', '--topic', 'inventory.public:2'],
                              stdout=open(broker_out, 'w'), stderr=open(os.path.join(work, 'broker.err'), 'w'))
    server = None
    try:
        brokers = inventoryd_harness.first_line(broker_out)
        server = inventoryd_harness.Inventoryd(os.path.abspath(a.inventoryd), work, ['--orders-brokers', brokers])

        def ctx(cid):
            return cmd.CommandContext(command_id=cid, actor='kill-loop')

        def connect():
            server.start()
            ch = grpc.insecure_channel(server.address)
            grpc.channel_ready_future(ch).result(timeout=30)
            return ch, cmd_grpc.CommandServiceStub(ch)

        def receive(stub, cid, qty):
            return stub.AdjustInventory(cmd.AdjustInventoryRequest(context=ctx(cid), sku='MUG', warehouse='BER-1',
                                                                   receive_quantity=qty), timeout=10)

        def audit():
            r = subprocess.run([os.path.abspath(a.inventoryctl), 'audit', '--data-dir', os.path.join(work, 'data')],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise AssertionError('inventoryctl audit is not clean (exit %d):\n%s%s'
                                     % (r.returncode, r.stdout[-3000:], r.stderr[-2000:]))

        ch, stub = connect()
        stub.CreateWarehouse(cmd.CreateWarehouseRequest(
            context=ctx('wh'), warehouse={'warehouse': 'BER-1', 'name': 'Berlin', 'region': 'eu', 'priority': 1,
                                          'active': True}), timeout=10)
        stub.CreateItem(cmd.CreateItemRequest(context=ctx('item'), item={'sku': 'MUG', 'name': 'Mug'}), timeout=10)
        receive(stub, 'stock', STOCK)

        acked = []  # (command id, quantity) answered OK
        orders = []
        started = time.monotonic()
        for kill in range(1, a.kills + 1):
            batch = ['o-%d-%d' % (kill, j) for j in range(ORDERS_PER_ROUND)]
            orders += batch
            lines = ''.join('%s|%s\n' % (o, json.dumps({'type': 'order.created', 'eventId': 'ev-' + o, 'orderId': o,
                                                        'timestamp': '2026-03-01T12:00:00Z',
                                                        'items': [{'sku': 'MUG', 'quantity': 1}]}))
                            for o in batch)
            subprocess.run([os.path.abspath(a.kcat), '-P', '-b', brokers, '-t', 'order.events', '-K', '|', '-z',
                            'none'], input=lines.encode(), check=True, timeout=60)
            stop = threading.Event()
            lock = threading.Lock()
            round_start = len(acked)

            def load(worker):
                n = 0
                while not stop.is_set():
                    n += 1
                    cid = 'r-%d-%d-%d' % (kill, worker, n)
                    try:
                        receive(stub, cid, 1)
                    except grpc.RpcError:
                        return  # the process died: this one is in doubt
                    with lock:
                        acked.append(cid)

            threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(2)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 1.5))
            server.proc.kill()  # SIGKILL
            stop.set()
            for t in threads:
                t.join(timeout=20)
            server.proc.wait(timeout=10)
            server.proc = None
            ch.close()
            ch, stub = connect()
            # Every receipt acknowledged this round survived: re-sent, it is a
            # duplicate (earlier rounds' were checked after their kill; the
            # final count checks them all again).
            for cid in acked[round_start:]:
                r = receive(stub, cid, 1)
                if not r.result.duplicate:
                    raise AssertionError('kill %d: acknowledged %s was lost (re-sent, it was applied again)'
                                         % (kill, cid))
            audit()
            print('kill %d: %d receipts acknowledged this round, all present; audit clean' % (kill, len(acked) - round_start),
                  flush=True)

        # Let the consumer finish every order, then stop cleanly.
        def events():
            r = subprocess.run([os.path.abspath(a.inventoryctl), 'export', '--format', 'jsonl', '--what', 'events',
                                '--data-dir', os.path.join(work, 'data')],
                               capture_output=True, text=True, timeout=120, check=True)
            return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

        def reserved_counts():
            counts = {}
            for e in events():
                if e.get('kind') == 'reservation_line_reserved':
                    counts[e['reservation_id']] = counts.get(e['reservation_id'], 0) + 1
            return counts

        inventoryd_harness.wait_for('every order reserved',
                                    lambda: all(('r-' + o) in reserved_counts() for o in orders), timeout=120)
        code = server.stop(signal.SIGTERM)
        if code != 0:
            raise AssertionError('clean stop exited %d' % code)
        counts = reserved_counts()
        doubled = {r: n for r, n in counts.items() if n != 1}
        if doubled:
            raise AssertionError('orders reserved more than once: %s' % sorted(doubled.items())[:10])
        audit()
        kinds = {}
        on_hand = 0
        for e in events():
            kinds[e.get('kind')] = kinds.get(e.get('kind'), 0) + 1
            if e.get('kind') == 'stock_received':
                on_hand += int(e.get('quantity', 0))
        # Receipts in the log: the setup, every acknowledged one, and at most
        # the in-doubt ones (two per kill, one per load thread).
        received_min = STOCK + len(acked)
        if not received_min <= on_hand <= received_min + 2 * a.kills:
            raise AssertionError('received %d, expected %d..%d' % (on_hand, received_min, received_min + 2 * a.kills))
        print('kill loop: %d kills in %.1f s, %d receipts acknowledged and present, %d orders reserved once each, '
              'audit clean; events by kind %s' % (a.kills, time.monotonic() - started, len(acked), len(orders),
                                                  json.dumps(kinds, sort_keys=True)))
    finally:
        if server is not None:
            server.kill()
        broker.kill()
        broker.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
