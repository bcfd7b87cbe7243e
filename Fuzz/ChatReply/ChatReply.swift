@testable import Models
import AgentCore
import Foundation
import FuzzSupport
import Imaging

/// One chat-completion reply or chunk from a server, tool-call arguments included (as text, in pieces,
/// or as an object), assembled into model text as a new reply and as a continuation, then parsed.
func fuzzChatReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let reply = try? ChatCompletionReply.decode(Data(bytes)) else {
        _ = serverErrorMessage(in: Data(bytes))
        return 0
    }
    for mode in [ReplyAssembler.Mode.reply(thinkingBudget: 3), .reply(thinkingBudget: nil), .continuation] {
        var assembler = ReplyAssembler(mode)
        var text = ""
        for choice in reply.choices ?? [] {
            if let message = choice.text { text += assembler.add(message) }
        }
        text += assembler.finish()
        precondition(text == assembler.text, "the text passed on is not the assembled text")
        _ = PlanReport(text: text, shape: .thinking, mapping: CoordinateMapping(space: .relative1000, imageSize: .init(width: 640, height: 480)))
    }
    return 0
}
