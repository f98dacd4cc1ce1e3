-- bench/msc3-mix.lua - the mixed traffic of bench/msc3-resources.sh (a wrk
-- script): clean, attacking and banned clients in one stream, a fixed
-- number of requests.
--
-- MIX_THREADS=T wrk -tT -cT -d600s -s bench/msc3-mix.lua URL -- TOTAL FIRST
--   one connection per thread: its answers come in the order of its
--   requests, so each is checked against the kind of request it answers
--   TOTAL   requests to send in all (each thread sends its share, then
--           stops; a few more may be in flight on its other connections)
--   FIRST   index of this run's first sprayed client (the script passes
--           the number of spray requests sent so far: no address twice)
-- wrk runs for its -d whatever its threads do: each thread that has its
-- share of the answers appends a line to the file MIX_DONE and stops; the
-- shell script sends wrk SIGINT (which ends it, with its report) once the
-- file has a line per thread.
-- Each request is one of, by its position in a cycle of 40:
--   18  clean GET / or /index.html from 65,536 clients (10.1.0.0/16): 200
--    2  clean POST /, 1 KB urlencoded body: the engine reads and inspects
--       it, httpd's static handler answers the file: 200
--    1  every other cycle, a clean 100 KB urlencoded POST (one argument),
--       which the module keeps for the handler in a temporary file: 200
--    6  an XSS attack, each from a new client (10.64.0.0/10): inspected,
--       403
--    3  the same attack from 64 attackers (10.2.0.0/26): 403 until the
--       module bans them (5 attacks), then 404
--   10  the same attack from 4 clients banned before the run
--       (10.4.0.0/30): 404, no transaction at all
-- The client is the X-Forwarded-For header (mod_remoteip trusts 127.0.0.1).
-- Prints at the end: "sent N", "status CODE N" per status, "unexpected N"
-- (a status the request's kind does not allow) and "unexpected-kind KIND
-- CODE N" for each, "errors connect read write timeout".
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

local CLEAN_BASE = 167837696   -- 10.1.0.0
local ATTACKER_BASE = 167903232 -- 10.2.0.0
local BANNED_BASE = 168034304  -- 10.4.0.0
local SPRAY_BASE = 171966464   -- 10.64.0.0

-- wrk gives each thread its own Lua state, which does not see the others:
-- the number of threads comes from the environment (MIX_THREADS, set by
-- the shell script to wrk's -t).
local function nthreads()
    return tonumber(os.getenv("MIX_THREADS") or "1")
end

function init(args)
    local total = tonumber(args[1])
    first = tonumber(args[2] or "0")
    -- wrk's threads are separate Lua states: this thread's share.
    limit = math.floor(total / nthreads()) + ((tid < total % nthreads()) and 1 or 0)
    sent, got, unexpected, spray = 0, 0, 0, 0
    counts = {}
    odd = {}
    kinds = {}
    small = "a=" .. string.rep("x", 1022)
    big = "b=" .. string.rep("y", 100 * 1024 - 2)
    math.randomseed(os.time() * 1000 + tid * 7919 + first)
    -- wrk calls the first thread's request() once before the run, to see
    -- what a request looks like, and never sends that one: not counted.
    probe = (tid == 0)
end

local function kind(i)
    local k = i % 40
    if k < 18 then return "clean" end
    if k < 20 then return "post" end
    if k == 20 then return (math.floor(i / 40) % 2 == 0) and "big" or "clean" end
    if k < 27 then return "spray" end
    if k < 30 then return "attacker" end
    return "banned"
end

function request()
    if probe then
        probe = false
        return wrk.format("GET", "/", { Host = "localhost" })
    end
    local i = sent + tid * 7 -- threads out of phase
    local k = kind(i)
    -- A name, not the numeric address wrk would send: the CRS scores a
    -- numeric Host header (rule 920350).
    local h = { Host = "localhost" }
    local method, path, body = "GET", ATTACK, nil
    sent = sent + 1
    table.insert(kinds, k)
    if k == "clean" then
        h["X-Forwarded-For"] = ip(CLEAN_BASE + math.random(0, 65535))
        path = (math.random(2) == 1) and "/" or "/index.html"
    elseif k == "post" or k == "big" then
        h["X-Forwarded-For"] = ip(CLEAN_BASE + math.random(0, 65535))
        method, path = "POST", "/"
        body = (k == "post") and small or big
        h["Content-Type"] = "application/x-www-form-urlencoded"
    elseif k == "spray" then
        h["X-Forwarded-For"] = ip(SPRAY_BASE + (first + tid * 1000000 + spray) % 4194304)
        spray = spray + 1
    elseif k == "attacker" then
        h["X-Forwarded-For"] = ip(ATTACKER_BASE + math.random(0, 63))
    else
        h["X-Forwarded-For"] = ip(BANNED_BASE + math.random(0, 3))
    end
    return wrk.format(method, path, h, body)
end

local ALLOWED = {
    clean = { [200] = true },
    post = { [200] = true },
    big = { [200] = true },
    spray = { [403] = true },
    attacker = { [403] = true, [404] = true },
    banned = { [404] = true },
}

function response(status, headers, body)
    -- Keep-alive connections answer in order: the oldest kind sent.
    local k = table.remove(kinds, 1) or "clean"
    got = got + 1
    counts[status] = (counts[status] or 0) + 1
    if not ALLOWED[k][status] then
        unexpected = unexpected + 1
        local key = k .. " " .. status
        odd[key] = (odd[key] or 0) + 1
    end
    if got == limit then
        local f = io.open(os.getenv("MIX_DONE"), "a")
        if f then
            f:write(tid, "\n")
            f:close()
        end
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local seen, total, bad, sprayed, odds = {}, 0, 0, 0, {}
    for _, t in ipairs(threads) do
        total = total + t:get("got")
        bad = bad + t:get("unexpected")
        sprayed = sprayed + t:get("spray")
        for code, n in pairs(t:get("counts")) do
            seen[code] = (seen[code] or 0) + n
        end
        for key, n in pairs(t:get("odd")) do
            odds[key] = (odds[key] or 0) + n
        end
    end
    for key, n in pairs(odds) do
        io.write(string.format("unexpected-kind %s %d\n", key, n))
    end
    for code, n in pairs(seen) do
        io.write(string.format("status %d %d\n", code, n))
    end
    io.write(string.format("sent %d\n", total))
    io.write(string.format("sprayed %d\n", sprayed))
    io.write(string.format("unexpected %d\n", bad))
    local e = summary.errors
    io.write(string.format("errors %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
end
