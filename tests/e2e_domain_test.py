#!/usr/bin/python3
"""End to end: the domain commands of issue 21 through a real inventoryd,
over HTTP (curl-like http.client), gRPC (the real inventoryctl) and the log
tools (inventoryctl as-of, history, audit).

Usage: e2e_domain_test.py <path to inventoryd> <path to inventoryctl>

Reservations: /extend moves an active hold's expiry later (REASON_EXPIRY_NOT_LATER
otherwise), /expire ends it now; the same through `inventoryctl extend/expire`,
and `history` lists reservation_extended and reservation_expired.
Sales blocks: POST /api/v1/inventory/{sku}/block and /unblock; a reservation
naming the blocked warehouse is 400 FAILED_PRECONDITION with
REASON_SALES_BLOCKED and the block's words; a free line skips the blocked
warehouse; levels, the report and availability show the block; the same
through `inventoryctl stock block/unblock` and `levels`; `as-of` lists the
blocks in force at a time, `history` the sales_blocked/sales_unblocked
events, and `audit` finds the read models agreeing with the log.
Partial commit: /commit with lines ships those units and releases the rest
(Allocation.releasedQuantity), refusing more than reserved or a line naming
nothing with the line's field; `inventoryctl commit --request-line`; history
shows what left and what was released, and the audit agrees.
Optimistic concurrency: /count and /adjust with expectedOnHand apply when it
holds and are 409 ABORTED (REASON_ON_HAND_CHANGED, details.currentOnHand)
when stale; a retry of an applied one is a duplicate; a receipt refuses the
field; the same through `inventoryctl stock count --expected-on-hand`.
The child is always stopped at the end.
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import unittest

import inventoryd_harness

INVENTORYD = None
CTL = None
WORK = None
SERVER = None
HOST = None
PORT = None
TIMEOUT = 15


def call(method, path, body=None, key=None):
    """One request; returns (status, parsed JSON)."""
    c = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers['Content-Type'] = 'application/json'
    if key:
        headers['Idempotency-Key'] = key
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, (json.loads(text) if text else None)


def ok(method, path, body=None, key=None):
    status, doc = call(method, path, body, key)
    assert status == 200, '%s %s -> %d %s' % (method, path, status, doc)
    return doc


def token_text(doc):
    return ','.join('%d:%s' % (p.get('partition', 0), p.get('offset', '0'))
                    for p in doc['result']['token']['positions'])


def ctl(*args, check=None):
    argv = [CTL] + list(args)
    if args[0] not in ('as-of', 'history', 'audit', 'export'):
        argv += ['--server', SERVER.address]
    else:
        argv += ['--data-dir', os.path.join(WORK, 'data'), '--progress', 'never']
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if check is not None and p.returncode != check:
        raise AssertionError('%s exited %d, expected %d\nstdout: %s\nstderr: %s'
                             % (' '.join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def setUpModule():
    global SERVER, HOST, PORT, WORK
    WORK = tempfile.mkdtemp(prefix='e2e-domain-')
    SERVER = inventoryd_harness.Inventoryd(INVENTORYD, WORK, ['--http-listen', '127.0.0.1:0']).start()
    HOST, port = SERVER.read_http_address().rsplit(':', 1)
    PORT = int(port)
    for code, prio in [('BER-1', 1), ('MUC-1', 2)]:
        ok('POST', '/api/v1/warehouses', {'warehouse': {'warehouse': code, 'name': code, 'region': 'eu',
                                                         'priority': prio, 'active': True}}, 'wh-' + code)
    ok('POST', '/api/v1/items', {'item': {'sku': 'MUG', 'name': 'Mug', 'reorderPoint': '1'}}, 'item-MUG')
    for wh in ['BER-1', 'MUC-1']:
        ok('POST', '/api/v1/inventory/receive', {'sku': 'MUG', 'warehouse': wh, 'receiveQuantity': '10'},
           'recv-' + wh)


def tearDownModule():
    if SERVER:
        code = SERVER.stop()
        assert code == 0, 'inventoryd exited %r\n%s' % (code, SERVER.stderr())


class SalesBlockTest(unittest.TestCase):

    def test_block_refuses_reservations_and_shows_everywhere(self):
        doc = ok('POST', '/api/v1/inventory/MUG/block', {'warehouse': 'BER-1', 'reason': 'recall lot 7'}, 'blk-1')
        self.assertEqual(doc['block']['warehouse'], 'BER-1')
        self.assertEqual(doc['block']['reason'], 'recall lot 7')
        token = token_text(doc)
        # The same key again: the original outcome, nothing written.
        again = ok('POST', '/api/v1/inventory/MUG/block', {'warehouse': 'BER-1', 'reason': 'recall lot 7'}, 'blk-1')
        self.assertTrue(again['result'].get('duplicate'))
        status, err = call('POST', '/api/v1/inventory/MUG/block', {'warehouse': 'BER-1', 'reason': 'other'}, 'blk-2')
        self.assertEqual((status, err['code']), (409, 'ALREADY_EXISTS'))
        status, err = call('POST', '/api/v1/inventory/MUG/block', {'warehouse': 'BER-1'}, 'blk-3')
        self.assertEqual((status, err['code'], err['field']), (400, 'INVALID_ARGUMENT', 'reason'))

        status, err = call('POST', '/api/v1/reservations',
                           {'lines': [{'sku': 'MUG', 'quantity': '1', 'warehouse': 'BER-1'}]}, 'res-named')
        self.assertEqual(status, 400)
        self.assertEqual(err['code'], 'FAILED_PRECONDITION')
        self.assertEqual(err['message'], 'lines[0]: sales of MUG are blocked at BER-1: recall lot 7')
        self.assertEqual(err['details']['reason'], 'REASON_SALES_BLOCKED')
        doc = ok('POST', '/api/v1/reservations', {'lines': [{'sku': 'MUG', 'quantity': '2'}]}, 'res-free')
        self.assertEqual([a['warehouse'] for a in doc['reservation']['allocations']], ['MUC-1'])

        levels = ok('GET', '/api/v1/inventory/MUG?minToken=' + token)
        self.assertEqual([(b['warehouse'], b['reason']) for b in levels['levels'][0]['salesBlocks']],
                         [('BER-1', 'recall lot 7')])
        report = ok('GET', '/api/v1/reports/inventory?minToken=' + token)
        self.assertEqual([(b['sku'], b['warehouse']) for b in report['salesBlocks']], [('MUG', 'BER-1')])
        check = ok('POST', '/api/v1/availability/check',
                   {'lines': [{'sku': 'MUG', 'quantity': '1', 'warehouse': 'BER-1'}]})
        self.assertFalse(check.get('canFulfil', False))
        self.assertEqual(check['lines'][0]['salesBlock'], 'sales of MUG are blocked at BER-1: recall lot 7')

        # inventoryctl over gRPC: block everywhere, see it in levels, lift both.
        ctl('stock', 'block', 'MUG', '--reason', 'price error', '--command-id', 'ctl-blk', check=0)
        p = ctl('reserve', '--line', 'MUG:1', check=1)
        self.assertIn('sales of MUG are blocked everywhere: price error', p.stdout + p.stderr)
        out = inventoryd_harness.wait_for(
            'levels showing both blocks',
            lambda: (lambda o: o if o.count('sales blocked:') == 2 else None)(ctl('levels', 'MUG', check=0).stdout))
        self.assertIn('sales blocked: MUG at every warehouse: price error', out)
        self.assertIn('sales blocked: MUG at BER-1: recall lot 7', out)
        p = ctl('stock', 'unblock', 'MUG', 'MUC-1', check=1)
        self.assertIn('REASON_NOT_BLOCKED', p.stdout + p.stderr)
        ctl('stock', 'unblock', 'MUG', '--command-id', 'ctl-unblk', check=0)
        doc = ok('POST', '/api/v1/inventory/MUG/unblock', {'warehouse': 'BER-1'}, 'unblk-1')
        ok('POST', '/api/v1/reservations', {'lines': [{'sku': 'MUG', 'quantity': '1', 'warehouse': 'BER-1'}]},
           'res-after')
        report = ok('GET', '/api/v1/reports/inventory?minToken=' + token_text(doc))
        self.assertEqual(report.get('salesBlocks', []), [])

        # The log tools, while the server runs: history, as-of, audit.
        history = [json.loads(l) for l in ctl('history', '--sku', 'MUG', '--format', 'jsonl',
                                              check=0).stdout.splitlines() if l.strip()]
        blocks = [(h['kind'], h.get('warehouse', ''), h.get('reason', '')) for h in history
                  if h['kind'].startswith('sales_')]
        self.assertEqual(blocks, [('sales_blocked', 'BER-1', 'recall lot 7'), ('sales_blocked', '', 'price error'),
                                  ('sales_unblocked', '', ''), ('sales_unblocked', 'BER-1', '')])
        blocked_at = next(h['occurred_at_ms'] for h in history if h['kind'] == 'sales_blocked')
        as_of = ctl('as-of', str(blocked_at), '--format', 'csv', check=0).stdout
        self.assertIn('sku,warehouse,reason,blocked_at,actor', as_of)
        self.assertIn('MUG,BER-1,recall lot 7,', as_of)
        self.assertNotIn('price error', as_of)
        audit = ctl('audit', check=0).stdout
        self.assertIn('audit: OK', audit)


class ReservationExpiryTest(unittest.TestCase):

    def test_extend_then_expire_now(self):
        doc = ok('POST', '/api/v1/reservations',
                 {'reservationId': 'r-hold', 'lines': [{'sku': 'MUG', 'quantity': '1', 'warehouse': 'MUC-1'}],
                  'ttlMs': '60000'}, 'res-hold')
        first = int(doc['reservation']['expiresAtMs'])
        doc = ok('POST', '/api/v1/reservations/r-hold/extend', {'ttlMs': '3600000'}, 'ext-hold')
        later = int(doc['reservation']['expiresAtMs'])
        self.assertGreater(later, first + 3000000)
        status, err = call('POST', '/api/v1/reservations/r-hold/extend', {'ttlMs': '1000'}, 'ext-short')
        self.assertEqual((status, err['details']['reason']), (400, 'REASON_EXPIRY_NOT_LATER'))
        status, err = call('POST', '/api/v1/reservations/r-hold/extend', {'ttlMs': '10'}, 'ext-tiny')
        self.assertEqual((status, err['code'], err['field']), (400, 'INVALID_ARGUMENT', 'ttl_ms'))
        got = ok('GET', '/api/v1/reservations/r-hold?minToken=' + token_text(doc))
        self.assertEqual(int(got['reservation']['expiresAtMs']), later)

        doc = ok('POST', '/api/v1/reservations/r-hold/expire', None, 'exp-hold')
        self.assertEqual(doc['reservation']['status'], 'RESERVATION_STATUS_EXPIRED')
        status, err = call('POST', '/api/v1/reservations/r-hold/expire', None, 'exp-again')
        self.assertEqual((status, err['details']['reason']), (400, 'REASON_ALREADY_RESOLVED'))

        # inventoryctl: extend and expire a second hold.
        ok('POST', '/api/v1/reservations',
           {'reservationId': 'r-hold2', 'lines': [{'sku': 'MUG', 'quantity': '1', 'warehouse': 'MUC-1'}]}, 'res-hold2')
        out = ctl('extend', 'r-hold2', '--ttl-ms', '7200000', '--json', check=0).stdout
        self.assertIn('RESERVATION_STATUS_ACTIVE', out)
        out = ctl('expire', 'r-hold2', '--json', check=0).stdout
        self.assertIn('RESERVATION_STATUS_EXPIRED', out)
        history = [json.loads(l) for l in ctl('history', '--sku', 'MUG', '--format', 'jsonl',
                                              check=0).stdout.splitlines() if l.strip()]
        kinds = [h['kind'] for h in history if h.get('reservation_id') in ('r-hold', 'r-hold2')]
        self.assertEqual(kinds, ['reservation_line_reserved', 'reservation_extended', 'reservation_expired',
                                 'reservation_line_reserved', 'reservation_extended', 'reservation_expired'])


class PartialCommitTest(unittest.TestCase):

    def test_partial_commit_ships_some_and_releases_the_rest(self):
        ok('POST', '/api/v1/items', {'item': {'sku': 'CUP', 'name': 'Cup'}}, 'item-CUP')
        ok('POST', '/api/v1/inventory/receive', {'sku': 'CUP', 'warehouse': 'MUC-1', 'receiveQuantity': '10'},
           'recv-CUP')
        ok('POST', '/api/v1/reservations',
           {'reservationId': 'r-part', 'lines': [{'sku': 'CUP', 'quantity': '6', 'warehouse': 'MUC-1'}]}, 'res-part')
        status, err = call('POST', '/api/v1/reservations/r-part/commit',
                           {'lines': [{'requestLine': 0, 'quantity': '7'}]}, 'ship-part')
        self.assertEqual((status, err['code'], err['field']), (400, 'INVALID_ARGUMENT', 'lines[0].quantity'), err)
        self.assertIn('more than the 6 reserved', err['message'])
        status, err = call('POST', '/api/v1/reservations/r-part/commit',
                           {'lines': [{'sku': 'CUP', 'warehouse': 'BER-1', 'quantity': '1'}]}, 'ship-part')
        self.assertEqual((status, err['field']), (400, 'lines[0].sku'), err)
        doc = ok('POST', '/api/v1/reservations/r-part/commit',
                 {'lines': [{'sku': 'CUP', 'warehouse': 'MUC-1', 'quantity': '4'}]}, 'ship-part')
        self.assertEqual(doc['reservation']['status'], 'RESERVATION_STATUS_COMMITTED')
        self.assertEqual(doc['reservation']['allocations'][0]['releasedQuantity'], '2')
        again = ok('POST', '/api/v1/reservations/r-part/commit',
                   {'lines': [{'sku': 'CUP', 'warehouse': 'MUC-1', 'quantity': '4'}]}, 'ship-part')
        self.assertTrue(again['result'].get('duplicate'))
        levels = ok('GET', '/api/v1/inventory/CUP?minToken=' + token_text(doc))
        total = levels['levels'][0]['total']
        self.assertEqual((total['onHand'], total['reserved']), ('6', '0'))
        got = ok('GET', '/api/v1/reservations/r-part?minToken=' + token_text(doc))
        self.assertEqual(got['reservation']['allocations'][0]['releasedQuantity'], '2')

        # inventoryctl: a second reservation, shipped by request line.
        ok('POST', '/api/v1/reservations',
           {'reservationId': 'r-part2', 'lines': [{'sku': 'CUP', 'quantity': '3', 'warehouse': 'MUC-1'}]},
           'res-part2')
        p = ctl('commit', 'r-part2', '--request-line', '0:4', check=1)
        self.assertIn('lines[0].quantity', p.stderr)
        ctl('commit', 'r-part2', '--request-line', '0:1', '--command-id', 'ctl-ship', check=0)
        out = inventoryd_harness.wait_for(
            'the partial commit in the reservation view',
            lambda: (lambda o: o if 'released 2' in o else None)(ctl('reservation', 'get', 'r-part2', check=0).stdout))
        self.assertIn('(committed 1, released 2)', out)

        # The log tools: history shows what left and what was released; as-of and the audit agree.
        history = [json.loads(l) for l in ctl('history', '--sku', 'CUP', '--format', 'jsonl',
                                              check=0).stdout.splitlines() if l.strip()]
        commits = [(h['reservation_id'], h['quantity'], h.get('released'), h['on_hand'], h['reserved'])
                   for h in history if h['kind'] == 'reservation_committed']
        self.assertEqual(commits, [('r-part', 4, 2, 6, 0), ('r-part2', 1, 2, 5, 0)])
        as_of = ctl('as-of', str(history[-1]['occurred_at_ms']), '--format', 'csv', check=0).stdout
        self.assertIn('CUP,MUC-1,5,0,5,0', as_of)
        self.assertIn('audit: OK', ctl('audit', check=0).stdout)


class ExpectedOnHandTest(unittest.TestCase):

    def test_stale_expectation_is_409_with_the_current_figure(self):
        ok('POST', '/api/v1/items', {'item': {'sku': 'JUG', 'name': 'Jug'}}, 'item-JUG')
        ok('POST', '/api/v1/inventory/receive', {'sku': 'JUG', 'warehouse': 'BER-1', 'receiveQuantity': '12'},
           'recv-JUG')
        doc = ok('POST', '/api/v1/inventory/count',
                 {'sku': 'JUG', 'warehouse': 'BER-1', 'countedQuantity': '11', 'expectedOnHand': '12'}, 'occ-1')
        self.assertEqual(doc['level']['onHand'], '11')
        again = ok('POST', '/api/v1/inventory/count',
                   {'sku': 'JUG', 'warehouse': 'BER-1', 'countedQuantity': '11', 'expectedOnHand': '12'}, 'occ-1')
        self.assertTrue(again['result'].get('duplicate'))
        status, err = call('POST', '/api/v1/inventory/adjust',
                           {'sku': 'JUG', 'warehouse': 'BER-1', 'adjustDelta': '-1', 'reason': 'ADJUSTMENT_REASON_DAMAGE',
                            'expectedOnHand': '12'}, 'occ-2')
        self.assertEqual((status, err['code']), (409, 'ABORTED'), err)
        self.assertEqual(err['details']['reason'], 'REASON_ON_HAND_CHANGED')
        self.assertEqual(err['details']['currentOnHand'], '11')
        self.assertIn('on hand is 11', err['message'])
        doc = ok('POST', '/api/v1/inventory/adjust',
                 {'sku': 'JUG', 'warehouse': 'BER-1', 'adjustDelta': '-1', 'reason': 'ADJUSTMENT_REASON_DAMAGE',
                  'expectedOnHand': err['details']['currentOnHand']}, 'occ-2')
        self.assertEqual(doc['level']['onHand'], '10')
        status, err = call('POST', '/api/v1/inventory/receive',
                           {'sku': 'JUG', 'warehouse': 'BER-1', 'receiveQuantity': '1', 'expectedOnHand': '10'},
                           'occ-3')
        self.assertEqual((status, err['code'], err['field']), (400, 'INVALID_ARGUMENT', 'expected_on_hand'))
        # inventoryctl: the same refusal, exit 1, naming the figure.
        p = ctl('stock', 'count', 'JUG', 'BER-1', '9', '--expected-on-hand', '12', check=1)
        self.assertIn('REASON_ON_HAND_CHANGED', p.stderr)
        self.assertIn('on hand now 10', p.stderr)
        ctl('stock', 'count', 'JUG', 'BER-1', '9', '--expected-on-hand', '10', check=0)
        history = [json.loads(l) for l in ctl('history', '--sku', 'JUG', '--format', 'jsonl',
                                              check=0).stdout.splitlines() if l.strip()]
        self.assertEqual([h['kind'] for h in history],
                         ['item_created', 'stock_received', 'stock_counted', 'stock_adjusted', 'stock_counted'])


def main():
    global INVENTORYD, CTL
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    INVENTORYD, CTL = sys.argv[1], sys.argv[2]
    result = unittest.main(argv=[sys.argv[0], '-v'], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
