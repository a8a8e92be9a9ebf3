-- One benchmark scenario for wrk (bench/run). Checks every response (status,
-- Location, x-qr-cache) and appends one JSON line of results to a file.
--
-- wrk -t1 ... -s scenario.lua URL -- NAME PATH OFFSET STATUS LOCATION CACHE OUT
--   PATH      request path; "{n}" becomes OFFSET, OFFSET+1, ... (one slug per request)
--   STATUS    expected status
--   LOCATION  Lua pattern the Location header must match ("-" for none)
--   CACHE     expected x-qr-cache ("-" for none, "*" for any)
--   OUT       results file (JSON lines)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  name, template, offset = args[1], args[2], tonumber(args[3])
  want_status, want_location, want_cache, out = tonumber(args[4]), args[5], args[6], args[7]
  issued, ok, unexpected, sample = 0, 0, 0, nil
  cache = {}
  sequential = template:find("{n}", 1, true) ~= nil
  if not sequential then
    wrk.path = template
  end
end

function request()
  if not sequential then
    return wrk.format()
  end
  local path = template:gsub("{n}", tostring(offset + issued))
  issued = issued + 1
  return wrk.format(nil, path)
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  local seen = headers["x-qr-cache"] or headers["X-Qr-Cache"] or "-"
  cache[seen] = (cache[seen] or 0) + 1
  local good = status == want_status
    and (want_location == "-" and location == nil or location ~= nil and location:match(want_location) ~= nil)
    and (want_cache == "*" or seen == want_cache)
  if good then
    ok = ok + 1
  else
    unexpected = unexpected + 1
    sample = sample or (status .. " " .. tostring(location) .. " " .. seen)
  end
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do
    table.insert(parts, string.format("%q:%d", k, v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local t = threads[1]
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  local line = string.format(
    '{"scenario":%q,"requests":%d,"duration_s":%.6f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":%d,"issued":%d,"ok":%d,"unexpected":%d,"sample":%q,"cache":%s}\n',
    t:get("name"), summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors, t:get("issued"), t:get("ok"), t:get("unexpected"), tostring(t:get("sample") or ""),
    json_counts(t:get("cache")))
  local f = assert(io.open(t:get("out"), "a"))
  f:write(line)
  f:close()
  io.write(line)
end
