import FuzzSupport

runFuzzer(fuzzChatReply)
