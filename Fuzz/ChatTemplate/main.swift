import FuzzSupport
import Qwen3VLPrompt

_ = tokenizer.count
runFuzzer(fuzzChatTemplate)
