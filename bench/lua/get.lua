-- GET the target URL as is.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
done = report
