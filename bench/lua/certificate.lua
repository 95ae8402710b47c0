-- GET /api/v1/me/certificates/{no}: lines of BENCH_INPUT are "token certificate_no", round robin.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local pairs_ = {}
for line in io.lines(os.getenv("BENCH_INPUT")) do
  local token, number = line:match("^(%S+)%s+(%S+)$")
  if token then pairs_[#pairs_ + 1] = {token, number} end
end
local i = 0
request = function()
  i = i % #pairs_ + 1
  return wrk.format("GET", "/api/v1/me/certificates/" .. pairs_[i][2], {["Authorization"] = "Bearer " .. pairs_[i][1]})
end
done = report
