-- wrk script: POST /rpc/ledger_transfer between two random accounts, unique request_id.
-- Settings come from the environment: BENCH_TOKEN, BENCH_FIRST, BENCH_N.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("prefix", os.getenv("BENCH_RUN") .. "-t" .. next_id)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("BENCH_TOKEN")
  first = tonumber(os.getenv("BENCH_FIRST"))
  n = tonumber(os.getenv("BENCH_N"))
  counter = 0
  math.randomseed(os.time() + string.byte(prefix, -1) * 7919)
end

function request()
  counter = counter + 1
  local a = math.random(0, n - 1)
  local b = (a + math.random(1, n - 1)) % n
  local body = string.format(
    '{"postings":[{"account_id":%d,"amount":-1},{"account_id":%d,"amount":1}],"kind":"bench","request_id":"%s-%d"}',
    first + a, first + b, prefix, counter)
  return wrk.format("POST", "/rpc/ledger_transfer",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function done(summary, latency, requests)
  io.write(string.format("WRK_RESULT requests=%d errors_status=%d p50_us=%d p99_us=%d duration_us=%d\n",
    summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99), summary.duration))
end
