-- POST a fixed JSON body (from the BENCH_BODY environment variable) to the URL given to wrk.
-- Used for POST /api/token/verify/ and POST /api/token/ (login).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")
