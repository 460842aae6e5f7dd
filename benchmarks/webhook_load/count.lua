-- wrk script: POST the signed GitHub push, a fresh X-GitHub-Delivery per request, and count
-- answers by status so "202s missing from the database" can be checked afterwards.
-- Environment: BODY_FILE, SIGNATURE (sha256=<hex>), OUT_FILE (where done() writes counts).

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  body = f:read("*a")
  f:close()
  n = 0
  accepted = 0
  ok2xx = 0
  other = 0
end

function request()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = string.format("bench-%d-%d", tid, n),
    ["X-Hub-Signature-256"] = os.getenv("SIGNATURE"),
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  elseif status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, o2, ot = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    o2 = o2 + thread:get("ok2xx")
    ot = ot + thread:get("other")
  end
  local f = assert(io.open(os.getenv("OUT_FILE"), "w"))
  f:write(string.format('{"requests": %d, "accepted_202": %d, "other_2xx": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.2f, "p99_ms": %.2f, "errors": %d}\n',
    summary.requests, a, o2, ot, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  f:close()
end
