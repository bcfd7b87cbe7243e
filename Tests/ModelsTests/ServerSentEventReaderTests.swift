@testable import Models
@testable import Qwen3VL
import Qwen3VLPrompt
import Testing

@Suite("Server-sent events: an event stream read however the network cuts it")
struct ServerSentEventReaderTests {
    /// Every awkward part of the format the servers (and proxies in front of them) use.
    static let stream = Array("\u{FEFF}: keep-alive\r\n\r\n".utf8)
        + Array("data: {\"a\": 1}\n\n".utf8)
        + Array("event: message\r\nid: 7\r\nretry: 100\r\ndata: {\"b\": \"世界\"}\r\n\r\n".utf8)
        + Array("data: first line\ndata:second line\ndata\ndata:  two spaces\n\n".utf8)
        + Array("data: lone carriage returns\r\r".utf8)
        + Array(": a comment between events\n\n\n".utf8)
        + Array("data: [DONE]".utf8)  // the last event, with no blank line after it
    static let expected = [
        "{\"a\": 1}", "{\"b\": \"世界\"}", "first line\nsecond line\n\n two spaces", "lone carriage returns", "[DONE]",
    ]

    static func read(_ bytes: [UInt8], cutAt cuts: [Int]) throws -> [String] {
        var reader = ServerSentEventReader()
        var events: [String] = []
        var start = 0
        for cut in cuts.sorted() + [bytes.count] where cut >= start {
            events += try reader.feed(bytes[start..<cut])
            start = cut
        }
        if let last = try reader.finish() { events.append(last) }
        return events
    }

    @Test func readsEveryEventInOnePiece() throws {
        #expect(try Self.read(Self.stream, cutAt: []) == Self.expected)
    }

    /// Cut anywhere: between CR and LF, inside a field name, inside a UTF-8 character.
    @Test func readsTheSameEventsWhereverTheBytesAreCut() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("ServerSentEventReaderTests seed: \(seed)")
        var generator = Qwen3VL.SplitMix64(seed: seed)
        for _ in 0..<500 {
            let cuts = (0..<Int.random(in: 1...12, using: &generator)).map { _ in Int.random(in: 0...Self.stream.count, using: &generator) }
            #expect(try Self.read(Self.stream, cutAt: cuts) == Self.expected, "cut at \(cuts.sorted()), seed \(seed)")
        }
        // Byte by byte, too.
        #expect(try Self.read(Self.stream, cutAt: Array(0...Self.stream.count)) == Self.expected)
    }

    @Test func aLineLongerThanTheBoundIsRefused() {
        var reader = ServerSentEventReader()
        let line = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: ServerSentEventReader.longestLine)
        #expect(throws: ServerSentEventReader.TooLong.self) { _ = try reader.feed(line) }
        // So is an event of many lines that adds up past it.
        var lines = ServerSentEventReader()
        let half = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "y"), count: ServerSentEventReader.longestLine / 2) + [10]
        #expect(throws: ServerSentEventReader.TooLong.self) { for _ in 0..<3 { _ = try lines.feed(half) } }
    }
}
