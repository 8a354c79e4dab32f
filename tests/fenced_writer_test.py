#!/usr/bin/python3
"""A fenced writer gets out of the way (docs/reliability.md "A fenced
writer"), as a real inventoryd on the development broker.

Usage: fenced_writer_test.py <inventoryd> <inventory-dev-kafka> <proto dir>

The broker (librdkafka's mock cluster) fences no one by itself; on SIGUSR1
it refuses the next EndTxn with PRODUCER_FENCED, which is what a real
cluster answers a writer whose transactional id a newer one took. So the
writer's next commit fails the way a zombie's does, and then:
  1. that command, and every later one, is answered FAILED_PRECONDITION
     naming the fencing (not UNAVAILABLE: retrying this process is useless);
  2. gRPC health of "" and of inventory.v1.CommandService is NOT_SERVING and
     GET /ready answers 503 while the process drains (--fenced-drain-ms);
  3. the process exits with code 3 within that drain plus a few seconds;
  4. restarted on the same data dir (what Kubernetes does), it serves again.
What this cannot show: a second writer actually fencing the first (the mock
does not), and read_committed hiding the fenced transaction's records (the
mock shows them: the restarted writer answers the fenced command id as a
duplicate; on a real cluster it would apply it afresh).
Bounded: every wait has a deadline.
"""
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

import inventoryd_harness

INVENTORYD = BROKER = PROTO = WORK = None
RPC_TIMEOUT = 10
PARTITIONS = 2
FENCED_DRAIN_MS = 3000
EXIT_FENCED = 3
SERVING, NOT_SERVING = b'\x08\x01', b'\x08\x02'  # HealthCheckResponse{status}


class FencedWriterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        inventoryd_harness.compile_protos(PROTO, WORK)
        global pb, pb_grpc
        import command_service_pb2 as pb
        import command_service_pb2_grpc as pb_grpc
        out = os.path.join(WORK, 'broker.out')
        cls.broker_err = os.path.join(WORK, 'broker.err')
        with open(out, 'w') as stdout, open(cls.broker_err, 'w') as stderr:
            cls.broker = subprocess.Popen([BROKER, '--topic', 'inventory.events:%d' % PARTITIONS],
                                          stdout=stdout, stderr=stderr)
        cls.kafka = ['--log-backend', 'kafka', '--kafka-brokers', inventoryd_harness.first_line(out),
                     '--partitions', str(PARTITIONS), '--roles', 'command', '--http-listen', '127.0.0.1:0',
                     '--fenced-drain-ms', str(FENCED_DRAIN_MS)]

    @classmethod
    def tearDownClass(cls):
        cls.broker.kill()
        cls.broker.wait(timeout=10)

    def start_writer(self, work):
        d = inventoryd_harness.Inventoryd(INVENTORYD, work, self.kafka)
        self.addCleanup(d.kill)
        d.start()
        d.http = d.read_http_address()
        channel = grpc.insecure_channel(d.address)
        self.addCleanup(channel.close)
        d.stub = pb_grpc.CommandServiceStub(channel)
        d.health = channel.unary_unary('/grpc.health.v1.Health/Check')  # raw bytes in and out
        return d

    def create_warehouse(self, writer, command_id):
        req = pb.CreateWarehouseRequest(context=pb.CommandContext(command_id=command_id, actor='fenced-test'))
        req.warehouse.warehouse = 'W-' + command_id
        req.warehouse.name = 'w'
        return writer.stub.CreateWarehouse(req, timeout=RPC_TIMEOUT)

    def health(self, writer, service):
        return writer.health(b'\x0a' + bytes([len(service)]) + service if service else b'', timeout=RPC_TIMEOUT)

    def ready(self, writer):
        host, port = writer.http.rsplit(':', 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=RPC_TIMEOUT)
        try:
            conn.request('GET', '/ready')
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors='replace')
        finally:
            conn.close()

    def assert_fenced_answer(self, writer, command_id):
        with self.assertRaises(grpc.RpcError) as refused:
            self.create_warehouse(writer, command_id)
        self.assertEqual(refused.exception.code(), grpc.StatusCode.FAILED_PRECONDITION, refused.exception.details())
        self.assertIn('fenced by another writer', refused.exception.details())
        self.assertIn('send the command to the current writer', refused.exception.details())

    def test_fenced_writer_stops_serving_and_exits_3(self):
        work = os.path.join(WORK, 'writer')
        os.makedirs(work, exist_ok=True)
        writer = self.start_writer(work)
        self.assertFalse(self.create_warehouse(writer, 'before').result.duplicate)
        self.assertEqual(self.health(writer, b''), SERVING)
        self.assertEqual(self.health(writer, b'inventory.v1.CommandService'), SERVING)
        self.assertEqual(self.ready(writer)[0], 200)

        self.broker.send_signal(signal.SIGUSR1)
        def armed():
            with open(self.broker_err) as f:
                return 'SIGUSR1' in f.read()
        inventoryd_harness.wait_for('the broker to arm PRODUCER_FENCED', armed, timeout=10, interval=0.05)
        fenced_at = time.monotonic()
        self.assert_fenced_answer(writer, 'fenced-1')  # its commit met PRODUCER_FENCED
        self.assertEqual(self.health(writer, b''), NOT_SERVING)
        self.assertEqual(self.health(writer, b'inventory.v1.CommandService'), NOT_SERVING)
        status, body = self.ready(writer)
        self.assertEqual(status, 503, body)
        self.assertIn('fenced by another writer', body)
        self.assert_fenced_answer(writer, 'fenced-2')  # refused before it reaches the log
        self.assertIsNone(writer.proc.poll(), 'exited before --fenced-drain-ms')

        code = writer.proc.wait(timeout=FENCED_DRAIN_MS / 1000 + 15)
        elapsed = time.monotonic() - fenced_at
        writer.proc.stdout.close()
        writer.proc = None
        self.assertEqual(code, EXIT_FENCED, writer.stderr())
        self.assertGreaterEqual(elapsed, FENCED_DRAIN_MS / 1000 - 0.5)
        self.assertIn('exiting with code 3', writer.stderr())

        # Restarted as Kubernetes would: a new producer, serving again.
        again = self.start_writer(work)
        self.assertEqual(self.health(again, b''), SERVING)
        self.assertTrue(self.create_warehouse(again, 'before').result.duplicate)
        # The mock keeps the fenced transaction's records readable (no
        # read_committed): the restart folded them. A real cluster hides
        # them, and this would be applied afresh.
        self.assertTrue(self.create_warehouse(again, 'fenced-1').result.duplicate)
        self.assertFalse(self.create_warehouse(again, 'after-restart').result.duplicate)
        self.assertEqual(again.stop(), 0)


if __name__ == '__main__':
    INVENTORYD, BROKER, PROTO = (os.path.abspath(a) for a in sys.argv[1:4])
    WORK = tempfile.mkdtemp(prefix='fenced_')
    try:
        unittest.main(argv=[sys.argv[0], '-v'])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
