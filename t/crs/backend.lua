-- t/crs/backend.lua - the application behind the WAF for the CRS corpus
-- runner (mod_lua, LuaMapHandler for every URI).
--
-- The CRS regression tests are written against a small echo backend: every
-- path answers 200 to every method, and POST /reflect answers with the
-- "body" member of the JSON request body, so the response rules (95x) have
-- a response body to inspect. This is that backend, inside the same httpd.

-- The JSON string that starts at position i of s (just after its opening
-- quote), decoded; nil when it is not well formed.
local function json_string(s, i)
    local out = {}
    while i <= #s do
        local c = s:sub(i, i)
        if c == '"' then
            return table.concat(out)
        elseif c == '\\' then
            local e = s:sub(i + 1, i + 1)
            local simple = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/',
                             b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
            if simple[e] then
                out[#out + 1] = simple[e]
                i = i + 2
            elseif e == 'u' then
                local cp = tonumber(s:sub(i + 2, i + 5), 16)
                if not cp then return nil end
                out[#out + 1] = utf8.char(cp)
                i = i + 6
            else
                return nil
            end
        else
            out[#out + 1] = c
            i = i + 1
        end
    end
    return nil
end

function handle(r)
    r.content_type = "text/html"
    if r.uri == "/reflect" and r.method == "POST" then
        local body = r:requestbody() or ""
        local at = body:find('"body"%s*:%s*"')
        if at then
            local q = body:find('"', body:find(':', at + 6) + 1, true)
            local text = json_string(body, q + 1)
            if text then
                r:write(text)
                return apache2.OK
            end
        end
        r.status = 400
        r:write("reflect: no \"body\" string in the request\n")
        return apache2.OK
    end
    r:write("<html><body>ok</body></html>\n")
    return apache2.OK
end
