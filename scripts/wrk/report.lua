-- Shared wrk done() hook: prints one line "BENCH_JSON {...}" that scripts/bench parses.
-- Latencies come from wrk in microseconds and are reported in milliseconds.
-- wrk counts every response with a status >= 400 in summary.errors.status ("non2xx").

function report(summary, latency, extra)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local fields = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_s":%.3f', seconds),
    string.format('"rps":%.1f', summary.requests / seconds),
    string.format('"p50_ms":%.3f', latency:percentile(50) / 1000),
    string.format('"p99_ms":%.3f', latency:percentile(99) / 1000),
    string.format('"non2xx":%d', e.status),
    string.format('"socket_errors":%d', e.connect + e.read + e.write + e.timeout),
  }
  for name, value in pairs(extra or {}) do
    fields[#fields + 1] = string.format('"%s":%d', name, value)
  end
  io.write("BENCH_JSON {" .. table.concat(fields, ",") .. "}\n")
end

function done(summary, latency, requests)
  report(summary, latency)
end
