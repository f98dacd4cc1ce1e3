#!/usr/bin/env python3
"""t/status/check.py - strict checks of the status page's outputs.

Used by t/status/test_status.sh. Each subcommand reads a file, prints one
line saying what it found, and exits 0 when the file is valid, 1 when not.

  check.py json FILE EXPR...    FILE parses as JSON; each EXPR (a Python
                                expression over `d`, the document) is true
  check.py prom FILE EXPR...    FILE is Prometheus text format 0.0.4; each
                                EXPR over `m` (name -> list of (labels,
                                value)) and `v(name)` (the value of the
                                metric's only sample) is true
  check.py png FILE MIN_BYTES   FILE is a PNG of at least MIN_BYTES bytes;
                                prints its size and dimensions
"""
import json
import re
import struct
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
SAMPLE_RE = re.compile(r'^(' + NAME + r')(\{(.*)\})? (\S+)( -?[0-9]+)?$')
LABEL_RE = re.compile(r'(' + LABEL + r')="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def fail(msg):
    print('invalid: ' + msg)
    sys.exit(1)


def unescape(s):
    return re.sub(r'\\(.)', lambda x: '\n' if x.group(1) == 'n' else
                  x.group(1), s)


def parse_labels(text, lineno):
    labels = {}
    pos = 0
    while pos < len(text):
        mt = LABEL_RE.match(text, pos)
        if not mt:
            fail('line %d: bad label at %r' % (lineno, text[pos:]))
        if mt.group(1) in labels:
            fail('line %d: label %s repeated' % (lineno, mt.group(1)))
        labels[mt.group(1)] = unescape(mt.group(2))
        pos = mt.end()
        if pos < len(text):
            if text[pos] != ',':
                fail('line %d: expected "," in labels at %r' %
                     (lineno, text[pos:]))
            pos += 1
    return labels


def parse_prom(text):
    """Returns {name: [(labels, value)]}; exits on any deviation."""
    if not text.endswith('\n'):
        fail('does not end with a newline')
    helps, types, metrics = {}, {}, {}
    finished = set()  # metrics whose group of samples is over
    current = None
    for lineno, line in enumerate(text.split('\n')[:-1], 1):
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) < 3 or parts[1] not in ('HELP', 'TYPE'):
                fail('line %d: comment is neither HELP nor TYPE: %r' %
                     (lineno, line))
            kind, name = parts[1], parts[2]
            if not re.fullmatch(NAME, name):
                fail('line %d: bad metric name %r' % (lineno, name))
            table = helps if kind == 'HELP' else types
            if name in table:
                fail('line %d: second %s for %s' % (lineno, kind, name))
            if name in metrics:
                fail('line %d: %s for %s after its samples' %
                     (lineno, kind, name))
            if len(parts) < 4 or not parts[3].strip():
                fail('line %d: empty %s for %s' % (lineno, kind, name))
            if kind == 'TYPE' and parts[3] not in TYPES:
                fail('line %d: unknown type %r' % (lineno, parts[3]))
            table[name] = parts[3]
            continue
        if not line:
            fail('line %d: empty line' % lineno)
        mt = SAMPLE_RE.match(line)
        if not mt:
            fail('line %d: not "name{labels} value": %r' % (lineno, line))
        name = mt.group(1)
        labels = parse_labels(mt.group(3) or '', lineno)
        try:
            value = float(mt.group(4))
        except ValueError:
            fail('line %d: value %r is not a number' % (lineno, mt.group(4)))
        if name not in helps or name not in types:
            fail('line %d: %s has no HELP and TYPE before it' %
                 (lineno, name))
        if name in finished:
            fail('line %d: samples of %s are not together' % (lineno, name))
        if current is not None and current != name:
            finished.add(current)
        current = name
        if types[name] == 'counter' and value < 0:
            fail('line %d: negative counter %s' % (lineno, name))
        if labels in [l for l, _ in metrics.get(name, [])]:
            fail('line %d: %s repeats a label set' % (lineno, name))
        metrics.setdefault(name, []).append((labels, value))
    for name in set(helps) | set(types):
        if name not in metrics:
            fail('%s has HELP/TYPE but no sample' % name)
    return metrics


def check_exprs(exprs, env):
    for e in exprs:
        try:
            ok = eval(e, {}, env)
        except Exception as ex:  # the expression itself is the test
            fail('%s raised %r' % (e, ex))
        if not ok:
            fail('not true: %s' % e)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == 'json':
        with open(path, encoding='utf-8') as f:
            try:
                d = json.load(f)
            except ValueError as ex:
                fail('JSON: %s' % ex)
        check_exprs(sys.argv[3:], {'d': d})
        print('valid JSON, %d checks true' % len(sys.argv[3:]))
    elif cmd == 'prom':
        with open(path, encoding='utf-8') as f:
            m = parse_prom(f.read())

        def v(name):
            if len(m.get(name, [])) != 1:
                raise KeyError('%s has %d samples' %
                               (name, len(m.get(name, []))))
            return m[name][0][1]
        check_exprs(sys.argv[3:], {'m': m, 'v': v})
        print('valid Prometheus text, %d metrics, %d checks true' %
              (len(m), len(sys.argv[3:])))
    elif cmd == 'png':
        with open(path, 'rb') as f:
            data = f.read()
        if data[:8] != b'\x89PNG\r\n\x1a\n' or data[12:16] != b'IHDR':
            fail('not a PNG')
        w, h = struct.unpack('>II', data[16:24])
        if len(data) < int(sys.argv[3]):
            fail('PNG of %d bytes, expected at least %s' %
                 (len(data), sys.argv[3]))
        print('PNG %dx%d, %d bytes' % (w, h, len(data)))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == '__main__':
    main()
