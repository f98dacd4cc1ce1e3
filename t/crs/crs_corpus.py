#!/usr/bin/env python3
"""t/crs/crs_corpus.py - replays a CRS regression corpus (go-ftw YAML)
against a private httpd with a given WAF engine and CRS version.

    crs_corpus.py run --crs 3.3.4|4.28.0 --engine modsecurity2|modsecurity3
                      [--every N] [--out DIR] [--port P] [--min-met PCT]
    crs_corpus.py compare A/results.tsv B/results.tsv [--list N]
                          [--ignore REGEX] [--min-agree PCT]

run: writes the rule set (engine settings, the CRS setup, the test setup
the CRS project uses for its own runs, the rules), an httpd.conf from the
project's one generator (tools/rlw-httpd-conf) with a serial server (one
child, one connection at a time, no keep-alive) and an echo backend
(t/crs/backend.lua), starts httpd, and replays every test (or every Nth):
each stage's request goes raw over a loopback socket (many are malformed on
purpose), then a marker request whose X-CRS-Test header the test setup's
rule 999999 writes to the error log; the log lines between two markers are
that request's. The stage's expectations (status, rule ids expected or not,
log regexes, response regex, connection error) are checked against them.

Results in OUT (build/crs/CRS-ENGINE): results.tsv, one row per request
(test, stage, rule family, status, blocked, rule ids, verdict, detail),
the input of "compare"; summary.json; the line printed last:
    crs 3.3.4 modsecurity2: tests 2403, met N, failed N, skipped N (...), Ns
"blocked" is the CRS verdict, not the status: the engine runs in
DetectionOnly as in the CRS project's own runs, so a request counts as
blocked when an anomaly-score blocking rule (949110, 949111, 959100,
959101) fired.

compare: the agreement of two runs on the requests both ran: same blocked
verdict and same rule-id set; lists the disagreements.

Exit status: 0, or 1 when --min-met is given and the met rate (met / run
tests) is lower, or nothing ran, or fewer than --min-run tests ran; 2 on a
usage or setup error. An engine that httpd refuses (modsecurity3 before
the module has it, or without libmodsecurity) or rules it cannot load make
every test "skipped" with the reason, never a pass.
"""

import argparse
import base64
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import yaml

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _shared():
    """../shared/crs of the project root (of the main checkout when this is
    a worktree one level further down), or RLW_CRS_SHARED."""
    if os.environ.get("RLW_CRS_SHARED"):
        return os.environ["RLW_CRS_SHARED"]
    for up in ("..", os.path.join("..", "..")):
        d = os.path.abspath(os.path.join(TOP, up, "shared", "crs"))
        if os.path.isdir(d):
            return d
    return os.path.abspath(os.path.join(TOP, "..", "shared", "crs"))


SHARED = _shared()
HTTPD = os.environ.get("RLW_HTTPD", "/usr/sbin/apache2")
MODULE_SO = os.environ.get(
    "RLW_MODULE_SO",
    os.path.join(TOP, "mod_ratelimit_waf", ".libs", "mod_ratelimit_waf.so"))

# The rule ids that turn a CRS anomaly score into a blocking decision.
BLOCKING_IDS = {"949110", "949111", "959100", "959101"}
MARKER_ID = "999999"
# httpd's line for a child killed by a signal (AH00052).
CRASH = re.compile(r"child pid \d+ exit signal [^\n]*")


def debian_crs_setup():
    for f in ("/etc/modsecurity/crs/crs-setup.conf",
              "/usr/share/modsecurity-crs/crs-setup.conf.example"):
        if os.path.exists(f):
            return f
    return "/etc/modsecurity/crs/crs-setup.conf"


def crs_versions():
    """Per CRS version: its corpus, setup file, rule files (in order), the
    variable that sets the paranoia level the corpus is written for and the
    test tool the corpus was written for (how requests are completed)."""
    v4 = os.path.join(SHARED, "v4.28.0")
    plug = os.path.join(v4, "plugins")
    return {
        "3.3.4": {
            "corpus": os.path.join(SHARED, "v3.3.4-regression", "tests",
                                   "regression", "tests"),
            "setup": debian_crs_setup(),
            "rules": ["/usr/share/modsecurity-crs/rules/*.conf"],
            "paranoia": "tx.paranoia_level",
            # Written for the Python ftw: no Content-Length without data.
            "dialect": "ftw",
        },
        "4.28.0": {
            "corpus": os.path.join(v4, "tests", "regression", "tests"),
            "setup": os.path.join(v4, "crs-setup.conf.example"),
            "rules": [os.path.join(plug, "*-config.conf"),
                      os.path.join(plug, "*-before.conf"),
                      os.path.join(v4, "rules", "*.conf"),
                      os.path.join(plug, "*-after.conf")],
            "paranoia": "tx.blocking_paranoia_level",
            "dialect": "go-ftw",
        },
    }


# Engine settings shared by both engines: ModSecurity's recommended
# configuration (the CRS project's test servers start from it) without its
# audit log, with the engine in DetectionOnly so every rule runs and logs.
# Rule 200004 as libmodsecurity's recommended file writes it ("@eq 1"):
# libmodsecurity sets MULTIPART_UNMATCHED_BOUNDARY to 2 for a body whose
# final boundary matches (src/request_body_processor/multipart.cc), where
# mod_security2 keeps 0, and mod_security2's "!@eq 0" would flag every
# multipart body there; mod_security2 sets only 0 or 1, so both rules mean
# the same to it.
BASE_CONF = r"""# Engine settings for the CRS corpus (written by t/crs/crs_corpus.py).
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
    "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" \
    "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
    "id:200003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation'"
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" \
    "id:200004,phase:2,t:none,log,deny,msg:'Multipart parser detected a possible unmatched boundary.'"
SecPcreMatchLimit 100000
SecPcreMatchLimitRecursion 100000
SecRule TX:/^MSC_/ "!@streq 0" \
    "id:200005,phase:2,t:none,deny,msg:'ModSecurity internal error flagged: %{MATCHED_VAR_NAME}'"
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecAuditEngine Off
SecArgumentSeparator &
SecCookieFormat 0
SecUnicodeMapFile /etc/modsecurity/unicode.mapping 20127
SecStatusEngine Off
"""

# The CRS project's test setup (its test containers' settings): paranoia
# level 4, the limits the corpus is written for, and the marker rule that
# writes the X-CRS-Test header to the log and switches off every other rule
# for the marker request: ruleRemoveById for the rest of phase 1, the rule
# engine for the later phases (libmodsecurity 3.0.9 applies
# ctl:ruleRemoveById to SecRule only, not to SecAction: CRS 4's phase-5
# SecAction 980170 would log on the marker request, after its marker line,
# and so be counted to the next request).
TEST_SETUP = r"""# CRS test setup (written by t/crs/crs_corpus.py).
SecAction "id:900005,phase:1,nolog,pass,t:none,\
    ctl:ruleRemoveById=910000,\
    setvar:{paranoia}=4,\
    setvar:tx.crs_validate_utf8_encoding=1,\
    setvar:tx.arg_name_length=100,\
    setvar:tx.arg_length=400,\
    setvar:tx.total_arg_length=64000,\
    setvar:tx.max_num_args=255,\
    setvar:tx.max_file_size=64100,\
    setvar:tx.combined_file_sizes=65535"
SecRule REQUEST_HEADERS:X-CRS-Test "@rx ^.*$" \
    "id:999999,phase:1,pass,t:none,log,\
    msg:'X-CRS-Test %{{MATCHED_VAR}}',\
    ctl:ruleRemoveById=1-999998,\
    ctl:ruleEngine=Off"
"""

KNOWN_INPUT = {"dest_addr", "port", "protocol", "method", "uri", "version",
               "headers", "data", "encoded_request", "raw_request",
               "stop_magic", "autocomplete_headers"}
KNOWN_OUTPUT = {"status", "log_contains", "no_log_contains", "log",
                "expect_error", "response_contains", "retry_once"}
KNOWN_LOG = {"expect_ids", "no_expect_ids", "match_regex", "no_match_regex"}

# go-ftw adds Content-Length for these methods even without data (its
# pattern, alternation and anchors as it has them).
BODY_METHODS = re.compile(r"^POST|PUT|PATCH|DELETE$")


def load_corpus(corpus_dir):
    """Every test of the corpus, in file and test order: dicts with name,
    family (the rule file's directory), enabled, stages [(input, output)]."""
    tests, seen = [], {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for f in sorted(glob.glob(os.path.join(corpus_dir, "**", "*.yaml"),
                              recursive=True)):
        with open(f, "rb") as fh:
            doc = yaml.load(fh, Loader=loader)
        if not doc:
            continue  # a file that only holds comments
        meta = doc.get("meta") or {}
        family = os.path.basename(os.path.dirname(f))
        for i, t in enumerate(doc.get("tests") or []):
            if "test_title" in t:
                name = str(t["test_title"])
            else:
                name = "%s-%s" % (doc.get("rule_id", os.path.basename(f)[:-5]),
                                  t.get("test_id", i + 1))
            # A name the corpus repeats gets "#2", "#3"...: results are
            # keyed by name.
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += "#%d" % seen[name]
            stages = []
            for s in t.get("stages") or []:
                s = s.get("stage", s)
                stages.append((s.get("input") or {}, s.get("output") or {}))
            tests.append({"name": name, "family": family,
                          "enabled": meta.get("enabled", True) is not False,
                          "stages": stages})
    return tests


def unsupported(stages):
    """Why the runner cannot replay these stages faithfully, or None."""
    for inp, out in stages:
        extra = set(inp) - KNOWN_INPUT
        if extra:
            return "input key %s" % ",".join(sorted(extra))
        if str(inp.get("protocol", "http")).lower() != "http":
            return "protocol %s" % inp["protocol"]
        extra = set(out) - KNOWN_OUTPUT
        if extra:
            return "output key %s" % ",".join(sorted(extra))
        if isinstance(out.get("log"), dict):
            extra = set(out["log"]) - KNOWN_LOG
            if extra:
                return "output log key %s" % ",".join(sorted(extra))
    return None


def _form_encode(data):
    """go-ftw's encoding of unencoded key=value pairs: each key and value
    query-escaped, "=" and "&" kept."""
    parts = []
    for token in data.split("&"):
        if "=" in token:
            k, v = token.split("=", 1)
            parts.append(urllib.parse.quote_plus(k, safe="") + "=" +
                         urllib.parse.quote_plus(v, safe=""))
        else:
            parts.append(urllib.parse.quote_plus(token, safe=""))
    return "&".join(parts)


def build_request(inp, dialect="go-ftw"):
    """The bytes go-ftw sends for this stage input. Header names are
    compared without case; the corpus's headers go out sorted by name, the
    ones added here after them. Dialect "ftw" (the older Python ftw the
    CRS 3.3 corpus was written for): no Content-Length without data, and
    multipart lines that already end in CRLF are kept."""
    if "encoded_request" in inp:
        return base64.b64decode(inp["encoded_request"])
    if "raw_request" in inp:
        return str(inp["raw_request"]).encode("utf-8")
    method = str(inp.get("method", "GET"))
    uri = str(inp.get("uri", "/"))
    version = str(inp.get("version", "HTTP/1.1"))
    given = inp.get("headers") or {}
    headers = [(str(k), "" if given[k] is None else str(given[k]))
               for k in sorted(given, key=str)]

    def values(name):
        return [v for k, v in headers if k.lower() == name.lower()]

    auto = inp.get("autocomplete_headers", not inp.get("stop_magic", False))
    data = inp.get("data")
    if isinstance(data, list):
        data = "\r\n".join(str(x) for x in data)  # the older ftw's lines
    data = "" if data is None else str(data)
    if data and auto:
        if not values("Content-Type"):
            headers.append(("Content-Type",
                            "application/x-www-form-urlencoded"))
        if any(v.lower() == "application/x-www-form-urlencoded"
               for v in values("Content-Type")):
            # Encoded only when it is not already: unescaping changes nothing
            # and finds no malformed escape.
            malformed = re.search(r"%(?![0-9A-Fa-f]{2})", data)
            if not malformed and urllib.parse.unquote_plus(data) == data:
                data = _form_encode(data)
    body = data.encode("utf-8")
    if any("multipart/form-data;" in v.lower() for v in values("Content-Type")):
        # Multipart lines end in CRLF.
        lf = rb"(?<!\r)\n" if dialect == "ftw" else rb"\n"
        body = re.sub(lf, b"\r\n", body)
    if auto:
        if not values("Connection"):
            headers.append(("Connection", "close"))
        if not values("Content-Length") and \
                (body or (dialect == "go-ftw" and BODY_METHODS.search(method))):
            headers.append(("Content-Length", str(len(body))))
    head = "%s %s %s\r\n" % (method, uri, version)
    head += "".join("%s: %s\r\n" % kv for kv in headers)
    return head.encode("utf-8") + b"\r\n" + body


class Response:
    def __init__(self, raw, error):
        self.raw = raw
        self.error = error  # connection error or timeout, None when clean
        m = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", raw)
        self.status = int(m.group(1)) if m else None


def exchange(port, data, timeout):
    """Sends data on a new connection and reads until the server closes it
    (the server keeps no connection alive) or timeout seconds pass."""
    raw, error = b"", None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return Response(b"", "connect: %s" % e)
    try:
        try:
            s.sendall(data)
        except socket.timeout:
            error = "timeout sending"
        except OSError as e:
            # The server may answer and close before it has read it all:
            # its answer can still be there to read.
            error = "send: %s" % e
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    except socket.timeout:
        error = error or "timeout"
    except OSError as e:
        error = error or str(e)
    finally:
        s.close()
    return Response(raw, error)


class ErrorLog:
    """Reads the error log from where the last marker was found."""

    def __init__(self, path):
        self.fh = open(path, "rb")
        self.buf = b""

    def until_marker(self, mark, timeout):
        """The lines before the line carrying mark, or None on timeout."""
        deadline = time.time() + timeout
        needle = mark.encode()
        while True:
            self.buf += self.fh.read()
            at = self.buf.find(needle)
            if at >= 0:
                start = self.buf.rfind(b"\n", 0, at) + 1
                end = self.buf.find(b"\n", at)
                if end >= 0:
                    lines = self.buf[:start]
                    self.buf = self.buf[end + 1:]
                    return lines.decode("latin-1")
            if time.time() > deadline:
                return None
            time.sleep(0.002)


def rule_ids(text):
    return sorted(set(re.findall(r'\[id "(\d+)"\]', text)) - {MARKER_ID},
                  key=int)


def _as_list(v):
    return v if isinstance(v, list) else [v]


def check(out, resp, log, ids):
    """The unmet expectations of one stage (empty: all met)."""
    bad = []
    if "status" in out:
        want = [int(x) for x in _as_list(out["status"])]
        if resp.status not in want:
            bad.append("status %s not in %s" % (resp.status, want))
    if "expect_error" in out:
        got = resp.status is None
        if bool(out["expect_error"]) != got:
            bad.append("expect_error %s, got %s" % (out["expect_error"],
                                                    resp.error or resp.status))
    for key, must in (("log_contains", True), ("no_log_contains", False)):
        if key in out:
            found = re.search(out[key], log, re.M) is not None
            if found != must:
                bad.append("%s %r" % (key, out[key]))
    lg = out.get("log") if isinstance(out.get("log"), dict) else {}
    have = set(ids)
    miss = [str(i) for i in lg.get("expect_ids") or [] if str(i) not in have]
    if miss:
        bad.append("missing ids " + ",".join(miss))
    extra = [str(i) for i in lg.get("no_expect_ids") or [] if str(i) in have]
    if extra:
        bad.append("unexpected ids " + ",".join(extra))
    for key, must in (("match_regex", True), ("no_match_regex", False)):
        if key in lg:
            if (re.search(lg[key], log, re.M) is not None) != must:
                bad.append("%s %r" % (key, lg[key]))
    if "response_contains" in out:
        if not re.search(out["response_contains"],
                         resp.raw.decode("latin-1"), re.M):
            bad.append("response_contains %r" % out["response_contains"])
    return bad


class Server:
    """A private httpd for one corpus run (its ServerRoot in /tmp, so the
    unprivileged children can read the backend and write SecTmpDir)."""

    def __init__(self, args, crs):
        self.args = args
        self.root = tempfile.mkdtemp(prefix="rlw-crs-")
        os.chmod(self.root, 0o755)
        # Modes set, not left to the umask: the children read htdocs and
        # write data and tmp.
        for d in ("logs", "run", "htdocs", "data", "tmp", "rules"):
            os.makedirs(os.path.join(self.root, d))
            os.chmod(os.path.join(self.root, d),
                     0o1777 if d in ("data", "tmp") else 0o755)
        lua = os.path.join(self.root, "htdocs", "backend.lua")
        shutil.copyfile(os.path.join(TOP, "t", "crs", "backend.lua"), lua)
        os.chmod(lua, 0o644)
        base = os.path.join(self.root, "rules", "00-engine.conf")
        with open(base, "w") as f:
            f.write(BASE_CONF)
        setup = os.path.join(self.root, "rules", "10-crs-test-setup.conf")
        with open(setup, "w") as f:
            f.write(TEST_SETUP.format(paranoia=crs["paranoia"]))
        # The test setup comes after crs-setup.conf and before the rules,
        # where the CRS project's test containers put it.
        self.rules = [base, crs["setup"], setup] + crs["rules"]
        self.conf = os.path.join(self.root, "httpd.conf")
        self.log = os.path.join(self.root, "logs", "error_log")
        self.pidfile = os.path.join(self.root, "run", "httpd.pid")

    def write_conf(self):
        a = self.args
        cmd = [os.path.join(TOP, "tools", "rlw-httpd-conf"),
               "--root", self.root, "--listen", str(a.port),
               "--generated-by", "t/crs/crs_corpus.py",
               "--mpm", "prefork", "--mpm-tuning", "serial",
               "--no-remoteip", "--engine", a.engine, "--load", "lua",
               "--directive", "Timeout %d" % max(2, int(a.timeout) + 2),
               "--directive",
               'LuaMapHandler "^/" "%s/htdocs/backend.lua" handle' % self.root]
        if os.geteuid() == 0:
            cmd += ["--user", "nobody", "--group", "nogroup"]
        if a.engine == "modsecurity3":
            cmd += ["--module-so", MODULE_SO]
        for r in self.rules:
            cmd += ["--modsec-rules", r]
        for d in a.directive or []:
            cmd += ["--directive", d]
        text = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                              text=True).stdout
        with open(self.conf, "w") as f:
            f.write(text)

    def config_error(self):
        """httpd -t's complaint about the configuration, or None."""
        r = subprocess.run([HTTPD, "-t", "-f", self.conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace")
        if r.returncode == 0:
            return None
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        return " | ".join(lines[-3:]) or "httpd -t failed"

    def start(self):
        # Someone else's server on the port would answer in httpd's place.
        probe = socket.socket()
        # As httpd does: the last run's connections in TIME_WAIT are no
        # listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", self.args.port))
        except OSError as e:
            raise RuntimeError("port %d: %s" % (self.args.port, e))
        finally:
            probe.close()
        subprocess.run([HTTPD, "-f", self.conf, "-k", "start"], check=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.args.port),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("httpd did not listen on port %d" % self.args.port)

    def stop(self):
        try:
            pid = int(open(self.pidfile).read())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def cleanup(self):
        if self.args.keep:
            print("kept %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def marker_request(mark):
    return ("GET / HTTP/1.1\r\nHost: localhost\r\n"
            "User-Agent: OWASP CRS test agent\r\nAccept: */*\r\n"
            "X-CRS-Test: %s\r\nConnection: close\r\n\r\n" % mark).encode()


def sync(port, elog, timeout):
    """Sends a marker; the log lines written since the previous one."""
    mark = uuid.uuid4().hex
    for _ in range(3):
        exchange(port, marker_request(mark), timeout)
        lines = elog.until_marker(mark, 5)
        if lines is not None:
            return lines
    raise RuntimeError("marker %s never reached the error log" % mark)


def run(args):
    crs = crs_versions()[args.crs]
    args.dialect = crs["dialect"]
    if args.crs_rules:
        # Another copy of the same CRS version's rules (e.g. one with a rule
        # file taken out, to see the runner notice).
        crs["rules"] = [os.path.join(os.path.abspath(args.crs_rules),
                                     "*.conf")]
    out_dir = args.out or os.path.join(TOP, "build", "crs",
                                       "%s-%s" % (args.crs, args.engine))
    os.makedirs(out_dir, exist_ok=True)
    if not os.path.isdir(crs["corpus"]):
        print("crs %s: corpus not found at %s" % (args.crs, crs["corpus"]),
              file=sys.stderr)
        return 2
    tests = load_corpus(crs["corpus"])
    if args.only:
        tests = [t for t in tests if re.search(args.only, t["name"])]
    total = len(tests)
    picked = tests[::args.every] if args.every > 1 else tests
    started = time.time()
    rows, results = [], []
    not_run = None

    server = Server(args, crs)
    try:
        if args.engine == "modsecurity3" and not os.path.exists(MODULE_SO):
            not_run = "engine not available: module not built (%s)" % MODULE_SO
        else:
            server.write_conf()
            err = server.config_error()
            # The directives unknown, or the engine directive refused (no
            # libmodsecurity): no engine. A refused rule file: rules.
            if err and args.engine == "modsecurity3" and \
                    re.search(r"Invalid command 'RateLimitWAF|"
                              r"RateLimitWAFEngine", err):
                not_run = "engine not available: " + err
            elif err:
                not_run = "rules do not load: " + err
        if not_run is None:
            server.start()
            elog = ErrorLog(server.log)
            sync(args.port, elog, args.timeout)
            for t in picked:
                results.append(run_test(t, args, elog, rows))
    finally:
        server.stop()
        server.cleanup()
    if not_run is not None:
        results = [(t, "skipped", not_run) for t in picked]
        rows = [(t["name"], 1, t["family"], "", "", "", "skipped", not_run)
                for t in picked]
    duration = time.time() - started
    return report(args, out_dir, total, picked, results, rows, duration,
                  not_run)


def run_test(t, args, elog, rows):
    """Replays one test; returns (test, verdict, detail) and appends one
    row per stage to rows."""
    if not t["enabled"]:
        why = "disabled in the corpus"
    elif not t["stages"]:
        why = "no stages"
    else:
        why = unsupported(t["stages"])
    if why:
        rows.append((t["name"], 1, t["family"], "", "", "", "skipped", why))
        return (t, "skipped", why)
    problems = []
    for n, (inp, out) in enumerate(t["stages"], 1):
        resp = exchange(args.port, build_request(inp, args.dialect),
                        args.timeout)
        log = sync(args.port, elog, args.timeout)
        ids = rule_ids(log)
        bad = check(out, resp, log, ids)
        # A child that died on this request fails it, whatever it expected
        # (the parent logs the death before it starts the next child).
        if CRASH.search(log):
            bad.insert(0, "httpd child crashed: " + CRASH.search(log).group(0))
        blocked = int(bool(BLOCKING_IDS & set(ids)))
        rows.append((t["name"], n, t["family"],
                     "" if resp.status is None else resp.status, blocked,
                     ",".join(ids), "failed" if bad else "met",
                     "; ".join(bad)))
        problems += bad
    if problems:
        return (t, "failed", "; ".join(problems))
    return (t, "met", "")


def _shown(path):
    """path relative to the tree when it is inside, else absolute."""
    rel = os.path.relpath(path, TOP)
    return path if rel.startswith("..") else rel


def report(args, out_dir, total, picked, results, rows, duration, not_run):
    met = sum(1 for r in results if r[1] == "met")
    failed = [r for r in results if r[1] == "failed"]
    skipped = [r for r in results if r[1] == "skipped"]
    reasons, by_family = {}, {}
    for t, _, why in skipped:
        reasons[why] = reasons.get(why, 0) + 1
    for t, _, _ in failed:
        by_family[t["family"]] = by_family.get(t["family"], 0) + 1
    ran = len(results) - len(skipped)
    rate = 100.0 * met / ran if ran else 0.0
    with open(os.path.join(out_dir, "results.tsv"), "w") as f:
        f.write("test\tstage\tfamily\tstatus\tblocked\tids\tverdict\tdetail\n")
        for r in rows:
            f.write("\t".join(str(x).replace("\t", " ").replace("\n", " ")
                              for x in r) + "\n")
    summary = {
        "crs": args.crs, "engine": args.engine,
        "corpus_tests": total, "every": args.every, "tests": len(picked),
        "met": met, "failed": len(failed), "skipped": len(skipped),
        "met_rate_of_run": round(rate, 2),
        "skipped_reasons": reasons, "failed_by_family": by_family,
        "failed_tests": {t["name"]: why for t, _, why in failed},
        "requests": sum(1 for r in rows if r[6] != "skipped"),
        "crashes": sum(1 for r in rows if "child crashed" in str(r[7])),
        "duration_s": round(duration, 1), "not_run": not_run,
        "command": " ".join([os.path.relpath(sys.argv[0], TOP)] + sys.argv[1:]),
    }
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")
    for why, n in sorted(reasons.items(), key=lambda x: -x[1]):
        print("  skipped %d: %s" % (n, why))
    for fam, n in sorted(by_family.items()):
        print("  failed %d in %s" % (n, fam))
    print("crs %s %s: tests %d%s, met %d, failed %d, skipped %d (%s), "
          "%.0fs -> %s"
          % (args.crs, args.engine, len(picked),
             " of %d (every %d)" % (total, args.every) if args.every > 1
             else "", met, len(failed), len(skipped),
             "met %.2f%% of run" % rate if ran else "nothing ran",
             duration, _shown(out_dir)))
    if args.min_run is not None and ran < args.min_run:
        print("FAIL: %d tests ran, at least %d expected" % (ran, args.min_run))
        return 1
    if args.min_met is not None:
        if ran == 0 or rate < args.min_met:
            print("FAIL: met %.2f%% of run tests, floor %.1f%%"
                  % (rate, args.min_met))
            return 1
        print("ok: met %.2f%% >= floor %.1f%%" % (rate, args.min_met))
    return 0


def read_rows(path):
    rows = {}
    with open(path) as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            rows[(c[0], c[1])] = c
    return rows


def compare(args):
    a, b = read_rows(args.a), read_rows(args.b)
    both = [k for k in a if k in b and a[k][6] != "skipped"
            and b[k][6] != "skipped"]
    ign = re.compile(args.ignore) if args.ignore else None

    def idset(row):
        return {i for i in row[5].split(",")
                if i and not (ign and ign.search(i))}

    agree, differ = 0, []
    for k in both:
        if a[k][4] == b[k][4] and idset(a[k]) == idset(b[k]):
            agree += 1
        else:
            differ.append(k)
    met_a = sum(1 for k in both if a[k][6] == "met")
    met_b = sum(1 for k in both if b[k][6] == "met")
    for k in differ[:args.list]:
        ia, ib = idset(a[k]), idset(b[k])
        print("  %s stage %s: blocked %s/%s, only A: %s, only B: %s"
              % (k[0], k[1], a[k][4], b[k][4],
                 ",".join(sorted(ia - ib, key=int)) or "-",
                 ",".join(sorted(ib - ia, key=int)) or "-"))
    if len(differ) > args.list:
        print("  ... %d more" % (len(differ) - args.list))
    fams = {}
    for k in differ:
        fams[a[k][2]] = fams.get(a[k][2], 0) + 1
    for fam, n in sorted(fams.items()):
        print("  differ %d in %s" % (n, fam))
    pct = 100.0 * agree / len(both) if both else 0.0
    print("compare: %d requests run by both, agree %d (%.2f%%), differ %d; "
          "met A %d, B %d; only in A %d, only in B %d"
          % (len(both), agree, pct, len(differ), met_a, met_b,
             len(set(a) - set(b)), len(set(b) - set(a))))
    if args.min_agree is not None and (not both or pct < args.min_agree):
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="replay a corpus")
    r.add_argument("--crs", choices=sorted(crs_versions()), required=True)
    r.add_argument("--engine", choices=["modsecurity2", "modsecurity3"],
                   default="modsecurity2")
    r.add_argument("--every", type=int, default=1,
                   help="replay every Nth test only (deterministic sample)")
    r.add_argument("--only", help="regex on test names")
    r.add_argument("--crs-rules", metavar="DIR",
                   help="load DIR/*.conf instead of the version's rules")
    r.add_argument("--directive", action="append", metavar="TEXT",
                   help="a line appended to httpd.conf (repeatable)")
    r.add_argument("--port", type=int, default=8951)
    r.add_argument("--timeout", type=float, default=3.0,
                   help="seconds to wait for a response (default 3)")
    r.add_argument("--out", help="result directory (build/crs/CRS-ENGINE)")
    r.add_argument("--min-met", type=float,
                   help="fail when met/run tests is below this percentage")
    r.add_argument("--min-run", type=int,
                   help="fail when fewer tests ran (were not skipped)")
    r.add_argument("--keep", action="store_true",
                   help="keep the server root in /tmp")
    c = sub.add_parser("compare", help="agreement of two runs")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--list", type=int, default=50,
                   help="list at most this many disagreements")
    c.add_argument("--ignore", metavar="REGEX",
                   help="leave rule ids matching REGEX out of the sets "
                        "(e.g. a known, documented difference)")
    c.add_argument("--min-agree", type=float,
                   help="fail when the agreement is below this percentage")
    args = p.parse_args()
    if args.cmd == "compare":
        return compare(args)
    if args.every < 1:
        p.error("--every must be at least 1")
    try:
        return run(args)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print("crs_corpus: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
