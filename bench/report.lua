-- wrk script for bench/run.py: one request shape per run, the answers
-- checked, a one-line JSON summary at the end. The same script serves the
-- baseline and Sendwell, so both carry the same load-generator overhead.
--
-- Settings come from the environment:
--   BENCH_METHOD      GET (default) or POST
--   BENCH_BODY        request body
--   BENCH_HEADERS     extra headers, one "Name: value" per line
--   BENCH_EXPECT      check each response: status 200 and this string in the body
--   BENCH_STOP_AFTER  stop after this many responses (per wrk thread)
-- Without either, wrk only counts non-2xx/3xx answers (errors.status) and the
-- bytes received, which bench/run.py checks against one known-good response.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local expect = os.getenv("BENCH_EXPECT")
if expect == "" then expect = nil end
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "")

wrk.method = method
if body and body ~= "" then wrk.body = body end
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  bad = 0
  first_bad = ""
end

-- A response callback makes wrk parse every body, which costs the load
-- generator CPU; it is defined only when a run needs it (figure 3).
if expect or stop_after then
  function response(status, headers, response_body)
    responses = responses + 1
    if status ~= 200 or (expect and not string.find(response_body or "", expect, 1, true)) then
      bad = bad + 1
      if first_bad == "" then
        first_bad = status .. " " .. string.sub(response_body or "", 1, 160)
      end
    end
    if stop_after and responses == stop_after then
      wrk.thread:stop()
      -- wrk's main thread sleeps for the whole -d duration; SIGINT ends the
      -- sleep and wrk reports as usual. A signal now and then goes amiss, so
      -- it is sent every 0.2 s until wrk has exited. (io.popen, not
      -- os.execute: system() ignores SIGINT in the caller while it runs.)
      local stat = io.open("/proc/self/stat")
      local pid = stat and stat:read("*n")
      if stat then stat:close() end
      if pid then
        io.popen("(while kill -INT " .. pid .. "; do sleep 0.2; done) >/dev/null 2>&1 &"):close()
      end
    end
  end
end

local function clean(text)
  return (text:gsub('[%c"\\]', " "))
end

function done(summary, latency, requests)
  local total_responses, total_bad, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_responses = total_responses + thread:get("responses")
    total_bad = total_bad + thread:get("bad")
    if sample == "" then sample = thread:get("first_bad") end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, '
      .. '"socket_errors": %d, "timeouts": %d, "responses": %d, "bad": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "first_bad": "%s"}\n',
    summary.requests, summary.duration, summary.bytes, errors.status,
    errors.connect + errors.read + errors.write, errors.timeout, total_responses, total_bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    clean(sample)))
end
