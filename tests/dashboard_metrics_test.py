#!/usr/bin/python3
"""Fails when monitoring/dashboard.json (or monitoring/alerts.yml) queries a
metric inventoryd does not export. The exported families come from
metrics_exposition_sample --names (the registry inventoryd builds); a
histogram family also answers to _bucket, _sum and _count.

Usage: dashboard_metrics_test.py METRICS_EXPOSITION_SAMPLE DASHBOARD_JSON ALERTS_YML"""
import json
import re
import subprocess
import sys

SAMPLE, DASHBOARD, ALERTS = sys.argv[1:4]
# Words in PromQL that are not metric names.
PROMQL_WORDS = {'sum', 'by', 'without', 'rate', 'increase', 'delta', 'deriv', 'max', 'min', 'avg', 'count',
                'histogram_quantile', 'and', 'or', 'unless', 'le', 'on', 'ignoring', 'group_left', 'group_right',
                'offset', 'bool', 'abs', 'clamp_min', 'topk', 'bottomk'}
BUILTIN = {'up'}  # Prometheus's own per-target series


def exported():
    names = subprocess.run([SAMPLE, '--names'], capture_output=True, check=True, timeout=30).stdout.decode().split()
    text = subprocess.run([SAMPLE], capture_output=True, check=True, timeout=30).stdout.decode()
    out = set(names)
    for name in names:
        if '# TYPE %s histogram' % name in text:
            out |= {name + '_bucket', name + '_sum', name + '_count'}
    return out


def metric_names(expr):
    expr = re.sub(r'\{[^}]*\}', '', expr)      # label matchers
    expr = re.sub(r'\[[^\]]*\]', '', expr)     # range selectors
    expr = re.sub(r'"[^"]*"', '', expr)        # strings
    expr = re.sub(r'\b(by|without|on|ignoring)\s*\([^)]*\)', '', expr)  # grouping labels
    words = re.findall(r'[a-zA-Z_:][a-zA-Z0-9_:]*', expr)
    return {w for w in words if w not in PROMQL_WORDS}


def main():
    have = exported() | BUILTIN
    assert 'inventory_reservations_total' in have, 'the sample exports nothing: %s' % sorted(have)
    queries = []
    for panel in json.load(open(DASHBOARD))['panels']:
        for target in panel['targets']:
            queries.append(('dashboard panel "%s"' % panel['title'], target['expr']))
    for line in open(ALERTS):
        m = re.match(r'\s*expr:\s*(.*)', line)
        if m and m.group(1).strip() != '|':
            queries.append(('alerts.yml', m.group(1)))
    # Multi-line exprs (expr: |) are read with the lines that follow.
    text = open(ALERTS).read()
    for block in re.findall(r'expr:\s*\|\n((?:\s{10,}.*\n)+)', text):
        queries.append(('alerts.yml', block))
    assert len(queries) >= 20, 'too few queries found: %d' % len(queries)
    missing = []
    for where, expr in queries:
        for name in metric_names(expr):
            if name not in have:
                missing.append('%s: %s (in %s)' % (where, name, expr.strip()))
    if missing:
        print('queries of metrics inventoryd does not export:\n  ' + '\n  '.join(missing))
        return 1
    print('%d queries, every metric exported' % len(queries))
    return 0


if __name__ == '__main__':
    sys.exit(main())
