#!/usr/bin/python3
"""End to end: the real inventoryctl binary writes to and reads from a real
inventoryd over gRPC.

Usage: e2e_ctl_test.py <path to inventoryd> <path to inventoryctl>

Starts `inventoryd serve` on a temp data dir (tests/inventoryd_harness.py)
and runs inventoryctl's client subcommands against it: each write's happy
path, refusals (exit 1, the log unchanged, counted with `inventoryctl
export`), --json answers, an unreachable server (exit 3), bad usage (exit 2),
imports run twice (the second changes nothing; a bad row is named), seed
--demo twice, and watch printing a change made meanwhile.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import inventoryd_harness

INVENTORYD = None
CTL = None
WORK = None
SERVER = None


def ctl(*args, check=None, timeout=60):
    """Runs inventoryctl with --server; returns the CompletedProcess."""
    argv = [CTL] + list(args)
    if args and args[0] not in ('export', 'audit'):
        argv += ['--server', SERVER]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError('%s exited %d, expected %d\nstdout: %s\nstderr: %s'
                             % (' '.join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def log_events():
    """The number of events in the log, read by inventoryctl export."""
    p = subprocess.run([CTL, 'export', '--format', 'jsonl', '--data-dir', os.path.join(WORK, 'data'),
                        '--progress', 'never'], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return len([l for l in p.stdout.splitlines() if l.strip()])


def levels(sku):
    return json.loads(ctl('levels', sku, '--json', check=0).stdout)


def on_hand(sku, warehouse):
    """On hand of sku at warehouse once the read model shows it (polls)."""
    for lv in levels(sku).get('levels', [{}])[0].get('warehouses', []):
        if lv.get('warehouse') == warehouse:
            return int(lv.get('onHand', 0))
    return 0


class CtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = inventoryd_harness.Inventoryd(INVENTORYD, WORK).start()
        global SERVER
        SERVER = cls.d.address
        ctl('warehouse', 'create', 'wh-a', '--name', 'A', '--region', 'south', '--priority', '1',
            '--command-id', 'setup/wh-a', check=0)
        ctl('warehouse', 'create', 'wh-b', '--name', 'B', '--region', 'north', '--priority', '2',
            '--command-id', 'setup/wh-b', check=0)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def assert_refused(self, *args, code_name):
        before = log_events()
        p = ctl(*args, check=1)
        self.assertIn('refused: ' + code_name, p.stderr)
        self.assertEqual(log_events(), before, 'a refused command appended to the log')
        return p

    def test_item_lifecycle(self):
        p = ctl('item', 'create', 'CTL-1', '--name', 'Widget', '--category', 'tools', '--reorder-point', '3',
                check=0)
        self.assertIn('ok', p.stdout)
        self.assertIn('command-id ctl-', p.stdout)
        self.assertIn('Widget', p.stdout)
        p = ctl('item', 'update', 'CTL-1', '--name', 'Widget 2', '--json', '--command-id', 'upd/ctl-1', check=0)
        answer = json.loads(p.stdout)
        self.assertEqual(answer['item']['name'], 'Widget 2')
        self.assertTrue(answer['result']['token']['positions'])
        # The same command id again: the original answer, nothing written.
        before = log_events()
        p = ctl('item', 'update', 'CTL-1', '--name', 'Widget 2', '--json', '--command-id', 'upd/ctl-1', check=0)
        self.assertTrue(json.loads(p.stdout)['result']['duplicate'])
        self.assertEqual(log_events(), before)
        self.assert_refused('item', 'create', 'CTL-1', '--name', 'Again', code_name='ALREADY_EXISTS')
        ctl('item', 'discontinue', 'CTL-1', check=0)
        p = self.assert_refused('stock', 'receive', 'CTL-1', 'wh-a', '5', code_name='FAILED_PRECONDITION')
        self.assertIn('REASON_ITEM_DISCONTINUED', p.stderr)

    def test_warehouse_update_and_refusal(self):
        p = ctl('warehouse', 'update', 'wh-b', '--name', 'B renamed', '--json', check=0)
        self.assertEqual(json.loads(p.stdout)['warehouse']['name'], 'B renamed')
        p = self.assert_refused('warehouse', 'update', 'wh-nope', '--name', 'x', '--json', code_name='NOT_FOUND')
        err = json.loads(p.stdout)
        self.assertEqual(err['code'], 'NOT_FOUND')
        self.assertEqual(err['details']['reason'], 'REASON_UNKNOWN_WAREHOUSE')

    def test_stock_and_reservations(self):
        ctl('item', 'create', 'CTL-2', '--name', 'Gadget', check=0)
        p = ctl('stock', 'receive', 'CTL-2', 'wh-a', '10', '--json', check=0)
        self.assertEqual(int(json.loads(p.stdout)['level']['onHand']), 10)
        p = ctl('stock', 'adjust', 'CTL-2', 'wh-a', '-2', '--reason', 'damage', '--json', check=0)
        self.assertEqual(int(json.loads(p.stdout)['level']['onHand']), 8)
        p = ctl('stock', 'count', 'CTL-2', 'wh-a', '9', '--json', check=0)
        self.assertEqual(int(json.loads(p.stdout)['level']['onHand']), 9)
        p = ctl('stock', 'transfer', 'CTL-2', 'wh-a', 'wh-b', '4', '--transfer-id', 'tr-ctl-2', '--json', check=0)
        answer = json.loads(p.stdout)
        self.assertEqual(int(answer['fromLevel']['onHand']), 5)
        self.assertEqual(int(answer['toLevel']['incoming']), 4)
        p = ctl('stock', 'transfer-receive', 'tr-ctl-2', '--json', check=0)
        self.assertEqual(int(json.loads(p.stdout)['toLevel']['onHand']), 4)
        self.assert_refused('stock', 'adjust', 'CTL-2', 'wh-a', '-50', '--reason', 'loss',
                            code_name='FAILED_PRECONDITION')
        ctl('stock', 'adjust', 'CTL-2', 'wh-a', '1', '--reason', 'bogus', check=2)

        p = ctl('reserve', '--order', 'o-1', '--line', 'CTL-2:3@wh-a', '--reservation-id', 'r-ctl-1', '--json',
                check=0)
        self.assertEqual(json.loads(p.stdout)['reservation']['reservationId'], 'r-ctl-1')
        p = self.assert_refused('reserve', '--order', 'o-2', '--line', 'CTL-2:500', code_name='FAILED_PRECONDITION')
        self.assertIn('REASON_INSUFFICIENT_STOCK', p.stderr)
        self.assertIn('requested 500', p.stderr)
        ctl('commit', 'r-ctl-1', check=0)
        self.assert_refused('release', 'r-ctl-1', code_name='FAILED_PRECONDITION')
        ctl('reserve', '--order', 'o-3', '--line', 'CTL-2:1@wh-b', '--reservation-id', 'r-ctl-2', check=0)
        ctl('release', 'r-ctl-2', '--reason', 'payment-failed', check=0)

        got = inventoryd_harness.wait_for('levels of CTL-2', lambda: on_hand('CTL-2', 'wh-a') == 2, timeout=20)
        self.assertTrue(got)
        p = ctl('levels', 'CTL-2', check=0)
        self.assertIn('(total)', p.stdout)
        self.assertRegex(p.stdout, r'CTL-2\s+wh-a\s+2\s')
        res = inventoryd_harness.wait_for('reservation r-ctl-2 released', lambda: (
            lambda p: p.returncode == 0 and 'RELEASED' in p.stdout and p)(ctl('reservation', 'get', 'r-ctl-2')),
            timeout=20)
        self.assertIn('line 0  CTL-2  wh-b  1', res.stdout)
        ctl('reservation', 'get', 'r-nope', check=1)

    def test_usage_and_unreachable(self):
        p = subprocess.run([CTL, 'levels', 'X', '--server', '127.0.0.1:1', '--timeout-ms', '2000'],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn('unreachable', p.stderr)
        ctl('reserve', '--line', 'no-quantity', check=2)
        ctl('item', 'create', 'X', check=2)  # --name is required
        help_text = subprocess.run([CTL, '--help'], capture_output=True, text=True, timeout=30).stdout
        for sub in ('item', 'warehouse', 'stock', 'reserve', 'commit', 'release', 'levels', 'reservation', 'watch',
                    'import', 'seed', 'audit', 'as-of', 'history', 'export', 'verify-log'):
            self.assertIn(sub, help_text)

    def test_import_items_and_counts_twice(self):
        items = os.path.join(WORK, 'items.csv')
        with open(items, 'w') as f:
            f.write('sku,name,category,reorder_point,reorder_quantity\n')
            for i in range(250):
                f.write('IMP-%03d,"Imported, item %d",cat%d,%d,20\n' % (i, i, i % 3, i % 7))
            f.write('IMP-BAD,Bad row,cat,not-a-number,1\n')
        p = ctl('import', '--items', items, '--progress', 'never', check=1)
        self.assertIn('250 applied, 0 duplicates', p.stdout, p.stderr[:600])
        self.assertIn('row 252 refused: reorder_point and reorder_quantity must be integers', p.stderr)
        before = log_events()
        p = ctl('import', '--items', items, '--progress', 'never', check=1)
        self.assertIn('0 applied, 250 duplicates', p.stdout)
        self.assertEqual(log_events(), before, 'the second import changed the log')

        counts = os.path.join(WORK, 'counts.csv')
        with open(counts, 'w') as f:
            f.write('sku,warehouse,counted\nIMP-001,wh-a,7\nIMP-002,wh-b,3\nIMP-003,wh-zz,1\n')
        p = ctl('import', '--counts', counts, '--progress', 'never', check=1)
        self.assertIn('2 applied', p.stdout)
        self.assertRegex(p.stderr, r'row 4 refused: NOT_FOUND: .*wh-zz')
        before = log_events()
        p = ctl('import', '--counts', counts, '--progress', 'never', check=1)
        self.assertIn('0 applied, 2 duplicates', p.stdout)
        self.assertEqual(log_events(), before)
        self.assertTrue(inventoryd_harness.wait_for('count of IMP-001', lambda: on_hand('IMP-001', 'wh-a') == 7,
                                                    timeout=20))
        bad = os.path.join(WORK, 'bad-header.csv')
        with open(bad, 'w') as f:
            f.write('sku,qty\nA,1\n')
        p = ctl('import', '--counts', bad, check=2)
        self.assertIn("header must be 'sku,warehouse,counted'", p.stderr)

    def test_seed_demo_twice(self):
        p = ctl('seed', '--demo', '--items', '40', check=0, timeout=120)
        self.assertIn('3 warehouses, 40 items', p.stdout)
        self.assertIn('0 duplicates', p.stdout)
        before = log_events()
        p = ctl('seed', '--demo', '--items', '40', check=0, timeout=120)
        self.assertIn('0 commands applied', p.stdout)
        self.assertEqual(log_events(), before)
        self.assertTrue(inventoryd_harness.wait_for('DEMO-0001 levels', lambda: on_hand('DEMO-0001', 'wh-sp-001') > 0,
                                                    timeout=20))

    def test_watch_prints_changes(self):
        ctl('item', 'create', 'CTL-W', '--name', 'Watched', check=0)
        ctl('stock', 'receive', 'CTL-W', 'wh-a', '6', check=0)
        # --from-beginning: the first change is caught up, the second made meanwhile.
        watch = subprocess.Popen([CTL, 'watch', '--sku', 'CTL-W', '--from-beginning', '--max-updates', '2',
                                  '--server', SERVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn('watching', watch.stderr.readline())
            ctl('stock', 'receive', 'CTL-W', 'wh-b', '2', check=0)
            out, _ = watch.communicate(timeout=30)
        finally:
            if watch.poll() is None:
                watch.kill()
        self.assertEqual(watch.returncode, 0)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[0], r'received\s+CTL-W@wh-a on_hand\+6 .* on_hand 6')
        self.assertRegex(lines[1], r'received\s+CTL-W@wh-b on_hand\+2')


def main():
    global INVENTORYD, CTL, WORK
    if len(sys.argv) < 3:
        sys.exit('usage: e2e_ctl_test.py <inventoryd> <inventoryctl>')
    INVENTORYD, CTL = sys.argv[1], sys.argv[2]
    WORK = tempfile.mkdtemp(prefix='e2e-ctl-')
    try:
        result = unittest.main(argv=[sys.argv[0]] + sys.argv[3:], exit=False, verbosity=2).result
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
