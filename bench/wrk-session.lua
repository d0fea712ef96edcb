-- wrk script: POST /api/cloud/file {"filename","size"} with the bench user's bearer token
-- (env ODU_TOKEN); prints one JSON line with throughput, latency percentiles and errors.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("ODU_TOKEN") or "")

-- ODU_TARGET=emulator: the same session, created straight at the (embedded) emulator's Graph
-- createUploadSession with a Graph token (env ODU_TOKEN) instead: what the server adds is the difference.
-- Like the server's (temp/{user}/{uploadId}/{filename}), each session's file is in a folder of its
-- own, so that the emulator creates that folder in both cases (its CPU is not the server's).
local direct = os.getenv("ODU_TARGET") == "emulator"

function request()
  counter = counter + 1
  if direct then
    local path = string.format("/v1.0/me/drive/special/approot:/temp/direct/%08x%024x/load-%d-%d.bin:/createUploadSession",
      tid or 0, counter, tid or 0, counter)
    return wrk.format(nil, path, nil, '{"item":{"@microsoft.graph.conflictBehavior":"rename","fileSize":10485760}}')
  end
  local body = string.format('{"filename":"load-%d-%d.bin","size":10485760}', tid or 0, counter)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
