@testable import Models
import Foundation
import FuzzSupport

/// The `text/event-stream` reader with the body cut anywhere: the first bytes choose where the network
/// splits the rest, and the events must be the same as when it comes in one piece. Each event is then
/// read as the client reads it.
func fuzzServerStream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard bytes.count >= 4 else { return 0 }
    let cuts = bytes[0..<4]
    let body = Array(bytes[4...])

    var whole = ServerSentEventReader()
    var expected = try! whole.feed(body)
    if let last = try! whole.finish() { expected.append(last) }

    var pieces = ServerSentEventReader()
    var events: [String] = []
    var start = 0
    for cut in cuts.map({ Int($0) }) + [body.count] {
        let end = min(body.count, start + cut)
        events += try! pieces.feed(body[start..<end])
        start = end
    }
    events += try! pieces.feed(body[start...])
    if let last = try! pieces.finish() { events.append(last) }
    precondition(events == expected, "cutting the stream changed its events: \(events) != \(expected)")

    var assembler = ReplyAssembler(.reply(thinkingBudget: nil))
    for event in events where event.trimmingCharacters(in: .whitespaces) != "[DONE]" {
        guard let chunk = try? ChatCompletionReply.decode(Data(event.utf8)) else { continue }
        if let message = chunk.choices?.first?.text { _ = assembler.add(message) }
    }
    _ = assembler.finish()
    return 0
}
