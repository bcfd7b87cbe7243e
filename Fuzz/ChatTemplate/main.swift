import FuzzSupport
import Qwen3VLPrompt

_ = imagePad
runFuzzer(fuzzChatTemplate)
