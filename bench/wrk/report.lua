-- wrk script: Authorization header from WRK_AUTH, request paths rotated from the file WRK_PATHS
-- (one per line; without it, the URL's own path), and a one-line JSON report at the end.
local auth = os.getenv("WRK_AUTH")
local pathsFile = os.getenv("WRK_PATHS")
local paths = {}
if pathsFile and pathsFile ~= "" then
  for line in io.lines(pathsFile) do paths[#paths + 1] = line end
end
if auth and auth ~= "" then wrk.headers["Authorization"] = "Bearer " .. auth end

if #paths > 1 then
  local i = 0
  request = function()
    i = i + 1
    return wrk.format(nil, paths[(i % #paths) + 1])
  end
elseif #paths == 1 then
  wrk.path = paths[1]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
