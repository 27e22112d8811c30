-- wrk script for benches/serve.sh: POSTs the AdmissionReviews in BODIES (one JSON document per
-- line), each thread cycling through them from its own offset, and counts the answers that are
-- not 200 with "allowed":true. done() prints one JSON line: requests, requests/s, p50/p99 ms,
-- errors (transport, non-200, denials).
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do
    bodies[#bodies + 1] = line
end
local threads = {}
local counter = 0

function setup(thread)
    thread:set("offset", counter)
    counter = counter + 1
    threads[#threads + 1] = thread
end

function init(args)
    next_body = offset
    denied = 0
    headers = { ["Content-Type"] = "application/json" }
end

function request()
    next_body = next_body % #bodies + 1
    return wrk.format("POST", "/lakom/verify-cosign-signature", headers, bodies[next_body])
end

function response(status, _, body)
    if status ~= 200 or not string.find(body, '"allowed":true', 1, true) then
        denied = denied + 1
    end
end

function done(summary, latency, _)
    local denials = 0
    for _, thread in ipairs(threads) do
        denials = denials + thread:get("denied")
    end
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.timeout + denials
    io.write(string.format(
        '{"requests":%d,"requestsPerSecond":%.0f,"p50Ms":%.2f,"p99Ms":%.2f,"errors":%d}\n',
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
