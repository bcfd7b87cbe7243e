import FuzzSupport

runFuzzer(fuzzLenientJSON)
