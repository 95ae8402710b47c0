-- GET the paths read from BENCH_INPUT (one per line), round robin.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local paths = {}
for line in io.lines(os.getenv("BENCH_INPUT")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = report
