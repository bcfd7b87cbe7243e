/// Reads a `text/event-stream` body (the WHATWG Server-Sent Events format) as its bytes arrive, however
/// the network cuts them: a line, or a UTF-8 character, may come in several pieces.
///
/// Only what chat-completion streams use is kept: each event's `data` (several `data:` lines joined
/// with `\n`). Comments (`: ping`), `event:`, `id:` and `retry:` carry no text and are skipped. Lines
/// end with `\n`, `\r\n` or a lone `\r`.
struct ServerSentEventReader {
    /// A server that never ends a line or an event would otherwise grow the buffers without bound.
    static let longestLine = 16 << 20

    struct TooLong: Error {}

    private var line: [UInt8] = []
    /// The current event's data lines, each followed by `\n`; nil until a `data` field arrives.
    private var data: [UInt8]?
    /// The last byte was a `\r`, so a `\n` right after it ends nothing new.
    private var afterCarriageReturn = false
    private var atStart = true

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The data of every event that `bytes` completes, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws(TooLong) -> [String] {
        // The bytes as one buffer, asked for once: read a byte at a time through a sequence whose type
        // is not specialized here (a caller in another module, a debug build), each byte cost a call
        // and a heap allocation.
        let events = bytes.withContiguousStorageIfAvailable { buffer in Result { () throws(TooLong) in try read(buffer) } }
            ?? Array(bytes).withUnsafeBufferPointer { buffer in Result { () throws(TooLong) in try read(buffer) } }
        return try events.get()
    }

    private mutating func read(_ bytes: UnsafeBufferPointer<UInt8>) throws(TooLong) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if afterCarriageReturn {
                afterCarriageReturn = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                if let event = try endLine() { events.append(event) }
            case UInt8(ascii: "\r"):
                afterCarriageReturn = true
                if let event = try endLine() { events.append(event) }
            default:
                line.append(byte)
                guard line.count <= Self.longestLine else { throw TooLong() }
            }
        }
        return events
    }

    /// The event left when the body ends without the blank line that should close it.
    mutating func finish() throws(TooLong) -> String? {
        let last = line.isEmpty ? nil : try endLine()
        return last ?? dispatch()
    }

    /// Reads the line collected so far; an event's data when the line is the blank one that ends it.
    private mutating func endLine() throws(TooLong) -> String? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: Self.byteOrderMark) { line.removeFirst(Self.byteOrderMark.count) }
        }
        if line.isEmpty { return dispatch() }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        guard colon != line.startIndex else { return nil }  // a comment
        let field = line[..<(colon ?? line.endIndex)]
        guard field.elementsEqual("data".utf8) else { return nil }
        var value = colon.map { line[($0 + 1)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        var event = data ?? []
        data = nil  // one owner, so the append does not copy
        event += value
        event.append(UInt8(ascii: "\n"))
        guard event.count <= Self.longestLine else { throw TooLong() }
        data = event
        return nil
    }

    /// The data of the event that a blank line (or the end of the body) closes.
    private mutating func dispatch() -> String? {
        defer { data = nil }
        guard let data else { return nil }
        return String(decoding: data.dropLast(), as: UTF8.self)
    }
}
