-- wrk script: hash-and-match one upload per request (POST /v1/match with
-- the file named by $UPLOAD as the body).
local f = assert(io.open(os.getenv("UPLOAD"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/match"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
