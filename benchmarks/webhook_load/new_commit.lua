-- wrk script, "new commit" mode: every request is a push of a commit never sent before (a new
-- `after` sha, the same in head_commit and commits[]) with a fresh X-GitHub-Delivery, signed
-- for that body. wrk's Lua has no HMAC, so run.py writes the variants beforehand: the body
-- split where the pushed sha stands (TEMPLATE_FILE, parts separated by a NUL byte) and one
-- "<sha> <signature>" line per variant (VARIANTS_FILE). Thread t of T sends variants t, t+T,
-- t+2T, ...; "wrapped" counts requests sent after a thread ran out of fresh ones (they
-- repeat a commit; run.py prints it, and it should be 0).
-- Environment: TEMPLATE_FILE, VARIANTS_FILE, THREADS, OUT_FILE.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("TEMPLATE_FILE"), "rb"))
  local template = f:read("*a")
  f:close()
  parts = {}
  for part in (template .. "\0"):gmatch("([^%z]*)%z") do
    table.insert(parts, part)
  end
  stride = tonumber(os.getenv("THREADS"))
  shas, signatures = {}, {}
  local index = 0
  for line in io.lines(os.getenv("VARIANTS_FILE")) do
    if index % stride == tid - 1 then
      local sha, signature = line:match("^(%x+) (.+)$")
      table.insert(shas, sha)
      table.insert(signatures, signature)
    end
    index = index + 1
  end
  n = 0
  wrapped = 0
  accepted = 0
  ok2xx = 0
  other = 0
end

function request()
  n = n + 1
  local i = n
  if i > #shas then
    wrapped = wrapped + 1
    i = (n - 1) % #shas + 1
  end
  local sha = shas[i]
  local pieces = {}
  for k = 1, #parts do
    pieces[#pieces + 1] = parts[k]
    if k < #parts then pieces[#pieces + 1] = sha end
  end
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = string.format("bench-%d-%d", tid, n),
    ["X-Hub-Signature-256"] = signatures[i],
  }
  return wrk.format("POST", nil, headers, table.concat(pieces))
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
  local a, o2, ot, w = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    o2 = o2 + thread:get("ok2xx")
    ot = ot + thread:get("other")
    w = w + thread:get("wrapped")
  end
  local f = assert(io.open(os.getenv("OUT_FILE"), "w"))
  f:write(string.format('{"requests": %d, "accepted_202": %d, "other_2xx": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.2f, "p99_ms": %.2f, "errors": %d, "wrapped": %d}\n',
    summary.requests, a, o2, ot, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    w))
  f:close()
end
