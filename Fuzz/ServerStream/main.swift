import FuzzSupport

runFuzzer(fuzzServerStream)
