-- bench/soak.lua - one traffic stream of bench/soak.sh (a wrk script).
--
-- wrk -t1 -cN -dS -s bench/soak.lua URL -- MODE BASE SPAN PAUSE_MS FIRST
--   MODE      clean: GET / or /index.html, expects 200
--             attack: the XSS attack URL, expects 403 (inspected) or 404
--             (banned); so do spray and banned
--             spray: every request from a new client (FIRST, FIRST+1, ...
--             within SPAN), one attack each
--   BASE      first client address, as a 32-bit number (10.1.0.0 = 167837696)
--   SPAN      number of client addresses (random choice, spray: sequential)
--   PAUSE_MS  pause of each connection before each request (rate cap)
--   FIRST     spray: index of the first client of this run (soak.sh passes
--             the number sent so far, so no address is used twice)
-- The client is the X-Forwarded-For header (mod_remoteip trusts 127.0.0.1).
-- Prints, at the end of the run: "sent N", "status CODE N" per status seen,
-- "unexpected N" (statuses other than the mode's), "errors connect read
-- write timeout" (wrk's socket errors: a graceful restart closes idle
-- keep-alive connections, which wrk counts as read errors).
local ATTACK = "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

local function ip(n)
    return string.format("%d.%d.%d.%d", math.floor(n / 16777216) % 256,
                         math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

function init(args)
    mode = args[1]
    base = tonumber(args[2])
    span = tonumber(args[3])
    pause = tonumber(args[4])
    first = tonumber(args[5] or "0")
    sent = 0
    counts = {}
    math.randomseed(os.time() * 1000 + tid * 7919 + first)
end

function delay()
    return pause
end

function request()
    local n, path
    if mode == "spray" then
        n = base + (first + sent) % span
    else
        n = base + math.random(0, span - 1)
    end
    if mode == "clean" then
        path = (math.random(2) == 1) and "/" or "/index.html"
    else
        path = ATTACK
    end
    sent = sent + 1
    return wrk.format("GET", path, { ["X-Forwarded-For"] = ip(n) })
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
    local total, seen, unexpected = 0, {}, 0
    for _, t in ipairs(threads) do
        total = total + t:get("sent")
        for code, n in pairs(t:get("counts")) do
            seen[code] = (seen[code] or 0) + n
        end
    end
    local m = threads[1]:get("mode")
    for code, n in pairs(seen) do
        io.write(string.format("status %d %d\n", code, n))
        local ok = (m == "clean" and code == 200) or
                   (m ~= "clean" and (code == 403 or code == 404))
        if not ok then unexpected = unexpected + n end
    end
    io.write(string.format("sent %d\n", total))
    io.write(string.format("unexpected %d\n", unexpected))
    local e = summary.errors
    io.write(string.format("errors %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
end
