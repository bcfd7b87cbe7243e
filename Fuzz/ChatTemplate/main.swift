import FuzzSupport
import Qwen3VL

_ = tokenizer.count
runFuzzer(fuzzChatTemplate)
