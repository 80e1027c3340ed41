-- POST /api/token/refresh/ with rotation: every request spends a refresh token never used before.
--
-- Each wrk thread keeps a FIFO queue of unused refresh tokens. It is seeded from the file named
-- by BENCH_TOKENS_FILE (one token a line; thread i of BENCH_THREADS takes every line whose index
-- is i modulo BENCH_THREADS), request() pops a token, and response() pushes back the new
-- "refresh" token the server answered with. A connection only sends its next request after the
-- response to the previous one, so the queue never runs dry as long as it was seeded with at
-- least as many tokens as the thread has connections and no answer is lost.
--
-- If the queue is empty anyway, the request carries a token that cannot work (it fails with 401);
-- "queue_empty" and "failed" count those cases and done() reports them with the usual figures.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

-- Per-thread state (each wrk thread has its own Lua state); done() reads it with thread:get.
queue, first, last = {}, 1, 0
queue_empty, failed = 0, 0

local function push(token)
  last = last + 1
  queue[last] = token
end

local function pop()
  if first > last then
    return nil
  end
  local token = queue[first]
  queue[first] = nil
  first = first + 1
  return token
end

-- Runs in the main Lua state once per thread, before that thread's init().
local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("BENCH_TOKENS_FILE") or error("BENCH_TOKENS_FILE is not set")
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or error("BENCH_THREADS is not set"))
  local index = 0
  for line in io.lines(file) do
    if line ~= "" then
      if index % nthreads == thread_index then
        push(line)
      end
      index = index + 1
    end
  end
end

function request()
  local token = pop()
  if not token then
    queue_empty = queue_empty + 1
    token = "queue-empty"
  end
  return wrk.format(nil, nil, nil, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh"%s*:%s*"([^"]+)"')
    if token then
      push(token)
      return
    end
  end
  failed = failed + 1
end

function done(summary, latency, requests)
  local totals = { queue_empty = 0, failed = 0, tokens_left = 0 }
  for _, thread in ipairs(threads) do
    totals.queue_empty = totals.queue_empty + thread:get("queue_empty")
    totals.failed = totals.failed + thread:get("failed")
    totals.tokens_left = totals.tokens_left + thread:get("last") - thread:get("first") + 1
  end
  report(summary, latency, totals)
end
