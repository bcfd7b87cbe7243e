import FuzzSupport

runFuzzer(fuzzParser)
