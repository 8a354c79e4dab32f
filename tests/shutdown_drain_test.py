#!/usr/bin/python3
"""SIGTERM drains a real inventoryd promptly while clients hold connections
open (issue 20, defect 6; docs/reliability.md "Shutdown").

For each topology (every role in one process; the command role alone) the
test opens what a fleet of real clients leaves behind: an idle gRPC channel
(connected, no call), an idle HTTP/1.1 keep-alive connection (one request
answered, then nothing), a StreamInventoryUpdates subscriber and, where the
query role runs, an SSE subscriber. It then sends SIGTERM and asserts the
process exits 0 within SHUTDOWN_BOUND_S, the bound docs/reliability.md
states, that the gRPC stream ended UNAVAILABLE with its resume hint (not cut
by the process dying), and that the HTTP connections were closed by the
server.

    /usr/bin/python3 tests/shutdown_drain_test.py build/tools/inventoryd proto/
"""
import http.client
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

import grpc

import inventoryd_harness

SHUTDOWN_BOUND_S = 2.0


class Subscriber(threading.Thread):
    """A StreamInventoryUpdates call from the beginning, read until it ends;
    `code` and `details` tell how it ended."""

    def __init__(self, channel, query_pb2, query_grpc):
        super().__init__(daemon=True)
        self.call = query_grpc.QueryServiceStub(channel).StreamInventoryUpdates(
            query_pb2.StreamInventoryUpdatesRequest(from_beginning=True))
        self.code = None
        self.details = ''
        self.received = 0
        self.ended_at = None

    def run(self):
        try:
            for _ in self.call:
                self.received += 1
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.code = e.code()
            self.details = e.details() or ''
        self.ended_at = time.monotonic()


class SseSubscriber(threading.Thread):
    """GET /api/v1/stream, read until the server closes the connection."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.sendall(b'GET /api/v1/stream?fromBeginning=true HTTP/1.1\r\nHost: t\r\n\r\n')
        self.head = b''
        self.closed_at = None

    def run(self):
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.head += chunk
        except OSError:
            pass
        self.closed_at = time.monotonic()


class ShutdownDrainTest(unittest.TestCase):
    binary = None
    proto_dir = None

    @classmethod
    def setUpClass(cls):
        cls.stubs = tempfile.TemporaryDirectory()
        inventoryd_harness.compile_protos(cls.proto_dir, cls.stubs.name)
        import command_service_pb2
        import command_service_pb2_grpc
        import query_service_pb2
        import query_service_pb2_grpc
        cls.cmd_pb2, cls.cmd_grpc = command_service_pb2, command_service_pb2_grpc
        cls.query_pb2, cls.query_grpc = query_service_pb2, query_service_pb2_grpc

    def drain(self, roles):
        work = tempfile.mkdtemp(prefix='shutdown-drain-')
        server = inventoryd_harness.Inventoryd(self.binary, work, ['--roles', roles, '--http-listen', '127.0.0.1:0'])
        server.start()
        try:
            http_host, http_port = server.read_http_address().rsplit(':', 1)
            http_port = int(http_port)
            with_query = roles == 'all' or 'query' in roles

            # An idle gRPC channel: connected, no call in flight.
            idle = grpc.insecure_channel(server.address)
            grpc.channel_ready_future(idle).result(timeout=10)
            # Something in the log, so the subscriber has history to catch up on.
            busy = grpc.insecure_channel(server.address)
            cmd = self.cmd_grpc.CommandServiceStub(busy)
            cmd.CreateWarehouse(self.cmd_pb2.CreateWarehouseRequest(
                context={'command_id': 'drain-wh'}, warehouse={'warehouse': 'BER-1', 'name': 'Berlin',
                                                              'region': 'eu', 'priority': 1, 'active': True}),
                timeout=10)
            cmd.CreateItem(self.cmd_pb2.CreateItemRequest(
                context={'command_id': 'drain-item'}, item={'sku': 'MUG', 'name': 'Mug', 'category': 'kitchen'}),
                timeout=10)
            cmd.AdjustInventory(self.cmd_pb2.AdjustInventoryRequest(
                context={'command_id': 'drain-receive'}, sku='MUG', warehouse='BER-1', receive_quantity=5), timeout=10)
            # An idle HTTP/1.1 keep-alive connection: one answer, then nothing.
            keep_alive = http.client.HTTPConnection(http_host, http_port, timeout=30)
            keep_alive.request('GET', '/health')
            response = keep_alive.getresponse()
            response.read()
            self.assertEqual(response.status, 200)
            self.assertFalse(response.will_close, 'the server should keep the connection open')

            subscriber = sse = None
            if with_query:
                subscriber = Subscriber(busy, self.query_pb2, self.query_grpc)
                subscriber.start()
                sse = SseSubscriber(http_host, http_port)
                sse.start()
                inventoryd_harness.wait_for('the subscribers to catch up',
                                            lambda: subscriber.received >= 1 and b'data:' in sse.head, timeout=20)

            signalled = time.monotonic()
            code = server.stop(signal.SIGTERM, timeout=30)
            took = time.monotonic() - signalled
            self.assertEqual(code, 0, server.stderr())
            self.assertLess(took, SHUTDOWN_BOUND_S,
                            'roles %s: SIGTERM took %.2f s with idle clients (bound %.1f s)\n%s'
                            % (roles, took, SHUTDOWN_BOUND_S, server.stderr()))
            print('roles %s: exit 0 %.3f s after SIGTERM' % (roles, took))

            # The keep-alive connection was closed by the server, not left dangling.
            keep_alive.sock.settimeout(5)
            self.assertEqual(keep_alive.sock.recv(1), b'', 'idle keep-alive connection still open')
            keep_alive.close()
            if with_query:
                subscriber.join(timeout=10)
                self.assertEqual(subscriber.code, grpc.StatusCode.UNAVAILABLE, subscriber.details)
                self.assertIn('resume with start_after', subscriber.details)
                sse.join(timeout=10)
                self.assertIsNotNone(sse.closed_at, 'SSE connection still open')
                sse.sock.close()
            idle.close()
            busy.close()
        finally:
            server.kill()
            shutil.rmtree(work, ignore_errors=True)

    def test_all_roles(self):
        self.drain('all')

    def test_command_role(self):
        self.drain('command')


if __name__ == '__main__':
    ShutdownDrainTest.binary = os.path.abspath(sys.argv[1])
    ShutdownDrainTest.proto_dir = os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1], verbosity=2)
