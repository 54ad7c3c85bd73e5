-- wrk script for token_bench.py. With TOKEN_BENCH_KEYS naming a file of API token keys (one
-- a line), each request sends the next key, as a fleet of devices would; without it, the
-- -H header given on the command line is sent every time.
local keys = {}
local path = os.getenv("TOKEN_BENCH_KEYS")
if path then
  for line in io.lines(path) do keys[#keys + 1] = line end
end
local next_key = 0

if #keys > 0 then
  request = function()
    next_key = next_key % #keys + 1
    return wrk.format(nil, nil, {Authorization = "Token " .. keys[next_key]})
  end
end

-- One JSON line with what token_bench.py needs (latencies in microseconds).
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
