-- POST /api/v1/verify with QR texts read from BENCH_INPUT (one JSON body per line), round robin.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local bodies = {}
for line in io.lines(os.getenv("BENCH_INPUT")) do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
done = report
