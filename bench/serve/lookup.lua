-- wrk script: one single-PDQ lookup per request, a fresh random hash each
-- time (random hashes are ~128 bits from every indexed one: the common
-- "no match" case, which never touches the database).
local hex = "0123456789abcdef"
local n = 0
setup = function(thread)
  n = n + 1
  thread:set("id", n)
end
init = function(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end
request = function()
  local t = {}
  for i = 1, 64 do
    local r = math.random(1, 16)
    t[i] = hex:sub(r, r)
  end
  return wrk.format("GET", "/v1/lookup?pdq=" .. table.concat(t))
end
