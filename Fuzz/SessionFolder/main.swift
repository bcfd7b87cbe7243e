import FuzzSupport

runFuzzer(fuzzSessionFolder)
