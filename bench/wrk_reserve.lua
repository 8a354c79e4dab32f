-- wrk: POST /api/v1/reservations of 1 unit of a random SKU, each request its
-- own Idempotency-Key (thread id + counter), so none is a duplicate.
local skus = tonumber(os.getenv("SKUS") or "1000")
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local body = '{"lines":[{"sku":"SKU-' .. math.random(0, skus - 1) .. '","quantity":1}]}'
  return wrk.format("POST", "/api/v1/reservations",
                    {["Content-Type"] = "application/json", ["Idempotency-Key"] = "wrk-" .. tid .. "-" .. n}, body)
end
