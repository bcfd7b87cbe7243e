import FuzzSupport

runFuzzer(fuzzSessionLine)
