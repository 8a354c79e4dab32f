-- wrk: GET /api/v1/inventory/SKU-<random> (bench/http_bench.sh seeds SKU-0..SKUS-1).
local skus = tonumber(os.getenv("SKUS") or "1000")
request = function()
  return wrk.format("GET", "/api/v1/inventory/SKU-" .. math.random(0, skus - 1))
end
