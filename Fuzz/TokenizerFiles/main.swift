import FuzzSupport

runFuzzer(fuzzTokenizerFiles)
