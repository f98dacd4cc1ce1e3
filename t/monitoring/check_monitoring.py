#!/usr/bin/python3
"""t/monitoring/check_monitoring.py - checks the shipped alerting rules and
Grafana dashboard against what the module really exports.

Usage:
  check_monitoring.py --scrape FILE [--scrape FILE...] [--rules RULES.yml]
                      [--dashboard DASHBOARD.json] [--docs monitoring.md]
                      [--metric-doc status.md] [--emit-rules OUT.yml]

--scrape: ?prometheus answers of real nodes (text format 0.0.4); the union
of their metric and label names is what an expression may name, plus the
series and labels Prometheus adds itself (up; job, instance).

Every PromQL expression (each rule's expr, each panel target's expr, each
query variable's query) is tokenised; every name in it is a PromQL keyword,
function or aggregation, a label name (inside {...} or by/without/on/
ignoring/group_left/group_right (...)), or a metric name, and a metric or
label name must be one the scrape showed. Each expression must name at
least one metric. Grafana's variables ($node, ${node}, [[node]],
$__rate_interval...) are replaced by plain values first.

Also checked: the rules (alert name, severity, summary, description, a
runbook_url whose anchor is a heading of --docs, and the same expression,
for and severity in --docs' table of alerts), the dashboard (JSON, a
datasource variable used by every panel, unique panel ids, the charts the
docs promise), and with --metric-doc that the metrics table of
docs/status.md lists exactly the exported metrics and their labels.
--emit-rules writes every dashboard expression as a
recording rule, for `promtool check rules` to parse it.

Prints one line per problem and "N expressions, M metric names: ok" or
exits 1.
"""
import argparse
import json
import re
import sys

import yaml

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "offset", "and", "or", "unless", "atan2", "inf", "nan", "start", "end",
}
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "day_of_month", "day_of_week", "day_of_year",
    "days_in_month", "delta", "deriv", "exp", "floor", "histogram_count",
    "histogram_sum", "histogram_fraction", "histogram_quantile",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "ln", "log2", "log10", "minute", "month",
    "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort",
    "sort_desc", "sqrt", "time", "timestamp", "vector", "year",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "quantile_over_time", "stddev_over_time",
    "stdvar_over_time", "last_over_time", "present_over_time", "acos",
    "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh",
    "tan", "tanh", "deg", "rad", "pi",
}
# Label clauses: the parenthesis after these holds label names.
LABEL_LIST_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
}
# What Prometheus adds to every scrape: the up series, the target labels.
PROMETHEUS_SERIES = {"up"}
PROMETHEUS_LABELS = {"job", "instance"}

# Grafana's own variables, and a value each that keeps the query valid.
GRAFANA_BUILTINS = {
    "__rate_interval": "5m", "__interval": "1m", "__range": "1h",
    "__range_s": "3600", "__interval_ms": "60000",
}

problems = []


def problem(where, what):
    problems.append("%s: %s" % (where, what))


# --- the scrape ------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def read_scrape(path, metrics):
    """Adds {metric: set(label names)} of one exposition to metrics."""
    typed = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = "%s:%d" % (path, n)
            if not line:
                continue
            if line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) != 4:
                    problem(where, "bad TYPE line")
                    continue
                typed[parts[2]] = parts[3]
                continue
            if line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                problem(where, "not a sample line: %r" % line)
                continue
            name, labels = m.group(1), m.group(3) or ""
            if name not in typed:
                problem(where, "%s has no TYPE line" % name)
            names = set()
            rest = labels
            while rest:
                lm = LABEL.match(rest)
                if not lm:
                    problem(where, "bad labels %r" % labels)
                    break
                names.add(lm.group(1))
                rest = rest[lm.end():]
            metrics.setdefault(name, set()).update(names)
    if not typed:
        problem(path, "no metric at all (not a ?prometheus answer?)")


# --- PromQL names ------------------------------------------------------------

TOKEN = re.compile(r'''
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<number>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
               (?:ms|[smhdwy])?(?:\d+(?:ms|[smhdwy]))*)
  | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}@])
  | (?P<space>\s+)
  | (?P<other>.)
''', re.X)


def grafana_values(expr):
    """Grafana's variables replaced: builtins by a duration, the others
    (always inside a label matcher's quotes here) by .* ."""
    def sub(m):
        name = m.group(1) or m.group(2) or m.group(3)
        name = name.split(":")[0]
        return GRAFANA_BUILTINS.get(name, ".*")
    return re.sub(r'\$\{([^}]+)\}|\[\[([^\]]+)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)',
                  sub, expr)


def names_of(expr, where):
    """(metrics, labels) an expression names; problems for what it cannot
    tell."""
    metrics, labels = set(), set()
    brace = 0          # inside {...}: names are label names
    parens = []        # one flag per open parenthesis: a label list
    prev = None        # the previous significant token (kind, text)
    for m in TOKEN.finditer(expr):
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "space":
            continue
        if kind == "other":
            problem(where, "unexpected character %r in %r" % (text, expr))
            return metrics, labels
        if kind == "op":
            if text == "{":
                brace += 1
            elif text == "}":
                brace -= 1
            elif text == "(":
                parens.append(prev is not None and prev[0] == "name"
                              and prev[1].lower() in LABEL_LIST_WORDS)
            elif text == ")":
                if parens:
                    parens.pop()
        if kind == "name":
            low = text.lower()
            in_label_list = bool(parens) and parens[-1] and brace == 0
            if brace > 0 or in_label_list:
                labels.add(text)
            elif (low in KEYWORDS or low in AGGREGATIONS
                  or low in FUNCTIONS):
                pass
            else:
                metrics.add(text)
        prev = (kind, text)
    if brace != 0 or parens:
        problem(where, "unbalanced braces or parentheses in %r" % expr)
    return metrics, labels


def check_expr(expr, where, exported, seen):
    metrics, labels = names_of(expr, where)
    known_labels = set(PROMETHEUS_LABELS)
    for labs in exported.values():
        known_labels |= labs
    if not metrics:
        problem(where, "names no metric: %r" % expr)
    for name in sorted(metrics):
        if name in exported:
            seen.add(name)
        elif name not in PROMETHEUS_SERIES:
            problem(where, "metric %s is not exported by the module" % name)
    for name in sorted(labels):
        if name not in known_labels:
            problem(where, "label %s is on no exported metric" % name)


# --- the rules ---------------------------------------------------------------

def anchors_of(path):
    """GitHub's heading anchors of a Markdown file."""
    out = set()
    with open(path) as f:
        for line in f:
            m = re.match(r'^#{1,6}\s+(.*?)\s*$', line)
            if m:
                a = m.group(1).strip().lower()
                a = re.sub(r'[^\w\- ]', '', a)
                out.add(a.replace(' ', '-'))
    return out


def alert_table(path):
    """{alert: (expr, for, severity)} of the docs' table of alerts."""
    out = {}
    row = re.compile(r'^\| \[(RateLimitWAF\w+)\]\(#\w+\) \| `(.*)` \| (\S+) \| '
                     r'(\w+) \|$')
    with open(path) as f:
        for line in f:
            m = row.match(line.rstrip("\n"))
            if m:
                out[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return out


def check_rules(path, exported, seen, anchors, table=None):
    with open(path) as f:
        doc = yaml.safe_load(f)
    documented = dict(table or {})
    exprs = 0
    alerts = 0
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            name = r.get("alert") or r.get("record") or "?"
            where = "%s: %s" % (path, name)
            exprs += 1
            check_expr(str(r.get("expr", "")), where, exported, seen)
            if "alert" not in r:
                continue
            alerts += 1
            if not re.match(r'^RateLimitWAF[A-Z][A-Za-z]+$', name):
                problem(where, "alert name does not start RateLimitWAF")
            sev = (r.get("labels") or {}).get("severity")
            if sev not in ("critical", "warning", "info"):
                problem(where, "severity %r is not critical/warning/info"
                        % sev)
            ann = r.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not str(ann.get(key, "")).strip():
                    problem(where, "no %s annotation" % key)
            url = str(ann.get("runbook_url", ""))
            anchor = url.split("#", 1)[1] if "#" in url else ""
            if anchors is not None and anchor not in anchors:
                problem(where, "runbook_url anchor #%s is no heading of the "
                        "docs" % anchor)
            if table is not None:
                want = (" ".join(str(r.get("expr", "")).split()),
                        str(r.get("for", "\u2014")), sev)
                got = documented.pop(name, None)
                if got is None:
                    problem(where, "not in the docs' table of alerts")
                elif got != want:
                    problem(where, "the docs' table says %r, the rule is %r"
                            % (got, want))
    if alerts == 0:
        problem(path, "no alert")
    for name in sorted(documented):
        problem(path, "the docs' table lists %s, which is no rule" % name)
    return exprs


# --- the metrics table of docs/status.md ------------------------------------

def check_metric_doc(path, exported):
    """The table's rows (| `name{label}` | type | meaning |) name exactly the
    exported metrics, each with the labels it has beyond node."""
    documented = {}
    with open(path) as f:
        for line in f:
            m = re.match(r'^\| `(ratelimit_waf_[a-z_]+)(?:\{([a-z_, ]+)\})?` \|',
                         line)
            if m:
                labels = {x.strip() for x in (m.group(2) or "").split(",")
                          if x.strip()}
                documented[m.group(1)] = labels
    if not documented:
        problem(path, "no metrics table")
    for name in sorted(set(documented) - set(exported)):
        problem(path, "documents %s, which the module does not export" % name)
    for name in sorted(set(exported) - set(documented)):
        problem(path, "does not document %s, which the module exports" % name)
    for name in sorted(set(documented) & set(exported)):
        if documented[name] != exported[name] - {"node"}:
            problem(path, "%s: labels %s documented, %s exported" % (
                name, sorted(documented[name]),
                sorted(exported[name] - {"node"})))


# --- the dashboard -----------------------------------------------------------

def all_panels(panels):
    for p in panels or []:
        yield p
        yield from all_panels(p.get("panels"))


def check_dashboard(path, exported, seen, emit):
    with open(path) as f:
        try:
            d = json.load(f)
        except ValueError as e:
            problem(path, "not JSON: %s" % e)
            return 0
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in d:
            problem(path, "no %s" % key)
    variables = d.get("templating", {}).get("list", [])
    ds = [v for v in variables if v.get("type") == "datasource"]
    if not ds or ds[0].get("query") != "prometheus":
        problem(path, "no datasource variable of type prometheus")
        return 0
    ds_ref = {"${%s}" % ds[0]["name"], "$%s" % ds[0]["name"]}
    exprs = 0
    for v in variables:
        if v.get("type") != "query":
            continue
        where = "%s: variable %s" % (path, v.get("name"))
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else str(q or "")
        if (v.get("datasource") or {}).get("uid") not in ds_ref:
            problem(where, "does not use the datasource variable")
        m = re.match(r'^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$',
                     q)
        if not m:
            problem(where, "query %r is not label_values(metric, label)" % q)
            continue
        exprs += 1
        sel, label = grafana_values(m.group(1)), m.group(2)
        check_expr(sel, where, exported, seen)
        metrics, _ = names_of(sel, where)
        for name in metrics:
            if name in exported and label not in (exported[name]
                                                  | PROMETHEUS_LABELS):
                problem(where, "%s has no label %s" % (name, label))
        emit.append(("variable_" + v.get("name", "x"), sel))
    ids = set()
    charted = set()
    for p in all_panels(d.get("panels")):
        where = "%s: panel %r" % (path, p.get("title"))
        if p.get("id") in ids:
            problem(where, "duplicate id %r" % p.get("id"))
        ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        if "gridPos" not in p:
            problem(where, "no gridPos")
        if (p.get("datasource") or {}).get("uid") not in ds_ref:
            problem(where, "does not use the datasource variable")
        targets = p.get("targets") or []
        if not targets and p.get("type") != "text":
            problem(where, "no query")
        for t in targets:
            expr = t.get("expr", "")
            tw = "%s %s" % (where, t.get("refId"))
            if (t.get("datasource") or {}).get("uid") not in ds_ref:
                problem(tw, "target does not use the datasource variable")
            exprs += 1
            check_expr(grafana_values(expr), tw, exported, seen)
            charted |= names_of(grafana_values(expr), tw)[0]
            emit.append(("panel_%s_%s" % (p.get("id"), t.get("refId")),
                         grafana_values(expr)))
    # The charts docs/monitoring.md promises.
    for name in ("ratelimit_waf_attacks_total", "ratelimit_waf_rejected_total",
                 "ratelimit_waf_bans_total", "ratelimit_waf_active_bans",
                 "ratelimit_waf_threat_level", "ratelimit_waf_store_degraded",
                 "ratelimit_waf_events_dropped_total",
                 "ratelimit_waf_tracked_clients",
                 "ratelimit_waf_table_capacity"):
        if name not in charted:
            problem(path, "no panel charts %s" % name)
    return exprs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scrape", action="append", required=True)
    ap.add_argument("--rules")
    ap.add_argument("--dashboard")
    ap.add_argument("--docs")
    ap.add_argument("--metric-doc")
    ap.add_argument("--emit-rules")
    a = ap.parse_args()

    exported = {}
    for s in a.scrape:
        read_scrape(s, exported)
    anchors = anchors_of(a.docs) if a.docs else None
    if a.metric_doc:
        check_metric_doc(a.metric_doc, exported)
    seen = set()
    emit = []
    table = alert_table(a.docs) if a.docs else None
    n = check_rules(a.rules, exported, seen, anchors, table) if a.rules else 0
    if a.dashboard:
        n += check_dashboard(a.dashboard, exported, seen, emit)
    if a.emit_rules:
        rules = [{"record": "rlw_dashboard:%s" % re.sub(r'\W', '_', k),
                  "expr": e} for k, e in emit]
        with open(a.emit_rules, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard",
                                        "rules": rules}]}, f)
    for p in problems:
        print("problem: " + p)
    unused = sorted(set(exported) - seen)
    print("%d expressions, %d metric names used of %d exported%s"
          % (n, len(seen), len(exported),
             ("; not used: " + " ".join(unused)) if unused else ""))
    if problems:
        print("%d problems" % len(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
