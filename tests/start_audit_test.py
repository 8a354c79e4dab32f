#!/usr/bin/python3
"""The audit-on-start trips on a forged event (docs/metrics.md, "Invariants").

forge_oversell_log appends to a real on-disk embedded log a history whose
last event, written past Decide, leaves SKU-1 at WH with on_hand -3. Then:
  * the command role refuses to start on that log (its replay's check), and
    says which record;
  * inventoryd with the projector and query roles folds it and counts it
    under check="projector" (read from /metrics over HTTP), the audit finding
    nothing in the views it started on;
  * restarted on those views, its audit-on-start finds the broken level:
    check="audit" is 1 and nothing more was folded.

Usage: start_audit_test.py INVENTORYD FORGE_OVERSELL_LOG"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventoryd_harness  # noqa: E402

INVENTORYD, FORGE = sys.argv[1:3]
del sys.argv[1:3]


def oversell_counts(http):
    with urllib.request.urlopen('http://%s/metrics' % http, timeout=5) as r:
        body = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^inventory_oversell_events_total\{check="(\w+)"\} (\S+)$', body, re.M)}


class StartAudit(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix='start_audit_')
        forged = subprocess.run([FORGE, os.path.join(self.work, 'data')], capture_output=True, timeout=30)
        self.assertEqual(forged.returncode, 0, forged.stderr.decode())

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def serve(self, args):
        server = inventoryd_harness.Inventoryd(INVENTORYD, self.work, args).start()
        return server, server.read_http_address()

    def test_command_role_refuses_the_forged_log(self):
        proc = subprocess.run([INVENTORYD, 'serve', '--data-dir', os.path.join(self.work, 'data'),
                               '--listen', '127.0.0.1:0'], capture_output=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('cannot rebuild the ledger state', proc.stderr.decode())
        self.assertIn('DATA_LOSS', proc.stderr.decode())

    def test_audit_on_start_counts_the_level_the_views_hold(self):
        args = ['--roles', 'projector,query', '--http-listen', '127.0.0.1:0']
        server, http = self.serve(args)
        try:
            first = inventoryd_harness.wait_for('the projector to fold the forged event',
                                                lambda: (lambda c: c if c.get('projector') == 1 else None)(
                                                    oversell_counts(http)), timeout=30)
            self.assertEqual(first, {'writer': 0, 'projector': 1, 'audit': 0})
        finally:
            self.assertEqual(server.stop(), 0)

        server, http = self.serve(args)
        try:
            self.assertEqual(oversell_counts(http), {'writer': 0, 'projector': 0, 'audit': 1})
            with open(server.stderr_path) as f:
                self.assertIn('audit on start: SKU-1 at WH has on_hand=-3 reserved=0', f.read())
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == '__main__':
    unittest.main()
