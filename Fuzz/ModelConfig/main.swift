import FuzzSupport

runFuzzer(fuzzModelConfig)
