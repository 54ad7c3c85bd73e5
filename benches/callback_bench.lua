-- wrk script for callback_bench.py: POSTs the signed callbacks of CALLBACK_BENCH_FILE (one
-- "signature<TAB>body" a line), each once, thread N taking lines N, N + threads, ... in order.
-- Prints one JSON line: counts, latencies in microseconds, and how many each thread answered.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  thread:set("count", 0)
  threads[#threads + 1] = thread
end

function init(args)
  lines = {}
  local number = 0
  local total = tonumber(os.getenv("CALLBACK_BENCH_THREADS"))
  for line in io.lines(os.getenv("CALLBACK_BENCH_FILE")) do
    if number % total == id then lines[#lines + 1] = line end
    number = number + 1
  end
  next_line = 0
  answered = 0
end

function request()
  next_line = next_line % #lines + 1
  local tab = lines[next_line]:find("\t", 1, true)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  if tab > 1 then headers["X-Twilio-Signature"] = lines[next_line]:sub(1, tab - 1) end
  return wrk.format("POST", nil, headers, lines[next_line]:sub(tab + 1))
end

function response(status, headers, body)
  answered = answered + 1
end

function done(summary, latency, requests)
  local errors = summary.errors
  local answered_by_thread = {}
  for index, thread in ipairs(threads) do
    answered_by_thread[index] = tostring(thread:get("answered"))
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "answered_by_thread": [%s]}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max,
    table.concat(answered_by_thread, ", ")))
end
