-- GET the target path with Bearer tokens read from BENCH_INPUT (one per line), round robin:
-- many different donors, so no cache of one session can flatter the figure.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local tokens = {}
for line in io.lines(os.getenv("BENCH_INPUT")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[i]})
end
done = report
