#!/usr/bin/python3
"""The warm standby writer (inventoryd --standby-of, docs/deploy.md "Warm
standby") on the development broker (librdkafka's mock cluster).

Usage: standby_takeover_test.py <inventoryd> <inventory-dev-kafka> <proto dir>

A writer (--roles command) and a standby of it (--roles command --standby-of
<writer>), each on its own data dir:
  1. the standby serves nothing (no listening line) while it folds the
     writer's appends into snapshots of its own;
  2. the writer is killed with SIGKILL; once its port has refused
     connections for --standby-takeover-after-ms the standby takes over: it
     prints its listening line, loaded its own snapshot and replayed nothing
     (that snapshot covers the whole log), answers the dead writer's command
     ids as duplicates and takes new writes after them;
  3. a standby stopped with SIGTERM before any takeover exits 0, serving
     nothing.
Not tested, because the mock does not do it: that the old writer, were it to
come back, is fenced (docs/event-log.md; only a real Kafka cluster does).
Bounded: every wait has a deadline.
"""
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


class StandbyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        inventoryd_harness.compile_protos(PROTO, WORK)
        global pb, pb_grpc
        import command_service_pb2 as pb
        import command_service_pb2_grpc as pb_grpc
        out = os.path.join(WORK, 'broker.out')
        with open(out, 'w') as stdout, open(os.path.join(WORK, 'broker.err'), 'w') as stderr:
            cls.broker = subprocess.Popen([BROKER, '--topic', 'inventory.events:%d' % PARTITIONS],
                                          stdout=stdout, stderr=stderr)
        cls.kafka = ['--log-backend', 'kafka', '--kafka-brokers', inventoryd_harness.first_line(out),
                     '--partitions', str(PARTITIONS), '--roles', 'command']

    @classmethod
    def tearDownClass(cls):
        cls.broker.kill()
        cls.broker.wait(timeout=10)

    def process(self, name, args):
        work = os.path.join(WORK, name)
        os.makedirs(work, exist_ok=True)
        d = inventoryd_harness.Inventoryd(INVENTORYD, work, self.kafka + args)
        self.addCleanup(d.kill)
        return d

    def standby_of(self, name, writer_address):
        """A standby, started by hand: it prints its listening line only once it takes over."""
        d = self.process(name, ['--standby-of', writer_address, '--standby-takeover-after-ms', '1000',
                                '--standby-poll-ms', '100', '--snapshot-every-events', '5'])
        stderr = open(d.stderr_path, 'ab')
        d.proc = subprocess.Popen([INVENTORYD, 'serve', '--data-dir', os.path.join(d.work, 'data'),
                                   '--listen', '127.0.0.1:0'] + d.args,
                                  stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
        stderr.close()
        return d

    def create_warehouse(self, stub, command_id):
        req = pb.CreateWarehouseRequest(context=pb.CommandContext(command_id=command_id, actor='standby-test'))
        req.warehouse.warehouse = 'W-' + command_id
        req.warehouse.name = 'w'
        return stub.CreateWarehouse(req, timeout=RPC_TIMEOUT)

    def stub(self, address):
        channel = grpc.insecure_channel(address)
        self.addCleanup(channel.close)
        return pb_grpc.CommandServiceStub(channel)

    def test_standby_folds_then_takes_over_when_the_writer_dies(self):
        writer = self.process('writer', [])
        writer.start()
        first = self.stub(writer.address)
        for i in range(12):
            self.assertFalse(self.create_warehouse(first, 'w-%d' % i).result.duplicate)
        standby = self.standby_of('standby', writer.address)
        inventoryd_harness.wait_for('the standby\'s snapshot of all 12 events',
                                    lambda: 'standby: snapshot of 12 events saved' in standby.stderr(), timeout=30)
        self.assertIsNone(standby.proc.poll(), standby.stderr())
        self.assertNotIn('listening on', standby.stderr())
        self.assertNotIn('taking over at', standby.stderr())

        writer.proc.kill()
        writer.proc.wait(timeout=10)
        line = inventoryd_harness.read_line(standby.proc.stdout, 30)
        self.assertTrue(line.startswith('listening on '), line)
        text = standby.stderr()
        self.assertIn('taking over at 12 events folded', text)
        self.assertIn('snapshot loaded, 0 events replayed', text)
        second = self.stub(line[len('listening on '):])
        for i in range(12):
            self.assertTrue(self.create_warehouse(second, 'w-%d' % i).result.duplicate, i)
        resp = self.create_warehouse(second, 'after-takeover')
        self.assertFalse(resp.result.duplicate)
        self.assertEqual(standby.stop(), 0)

    def test_a_standby_stopped_before_takeover_exits_cleanly(self):
        writer = self.process('writer-2', [])
        writer.start()
        standby = self.standby_of('standby-2', writer.address)
        inventoryd_harness.wait_for('the standby following', lambda: 'standby: following the log' in standby.stderr(),
                                    timeout=30)
        self.assertEqual(standby.stop(), 0)
        self.assertNotIn('taking over at', standby.stderr())
        self.assertEqual(writer.stop(), 0)

    def test_standby_needs_the_command_role_on_kafka(self):
        d = self.process('embedded', [])
        r = subprocess.run([INVENTORYD, 'serve', '--data-dir', os.path.join(d.work, 'data'), '--listen', '127.0.0.1:0',
                            '--standby-of', '127.0.0.1:1'], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('--standby-of needs the command role on the kafka log backend', r.stderr)


if __name__ == '__main__':
    INVENTORYD, BROKER, PROTO = (os.path.abspath(a) for a in sys.argv[1:4])
    WORK = tempfile.mkdtemp(prefix='standby_')
    try:
        unittest.main(argv=[sys.argv[0], '-v'])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
