/// A JSON value as models write it.
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }
}

/// A JSON reader that forgives what language models get wrong: single-quoted strings, unquoted keys,
/// trailing commas, Python's `True`/`False`/`None`, a leading `+` or `.5`, and text after the value.
///
/// It refuses what cannot mean a number (`NaN`, `Infinity`, digits past Double's range) and nests
/// at most 64 deep, so adversarial input fails cleanly and in linear time.
struct LenientJSON {
    struct Failure: Error, Equatable {
        let reason: String
        /// UTF-8 offset of the problem in the input.
        let offset: Int
    }

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maximumDepth = 64

    /// Parses the first JSON value in `text`; `end` is the UTF-8 offset just past it.
    static func parse(_ text: some StringProtocol) throws(Failure) -> (value: JSONValue, end: Int) {
        var reader = LenientJSON(bytes: Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value()
        return (value, reader.position)
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func failure(_ reason: String) -> Failure { Failure(reason: reason, offset: position) }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        guard let byte = current else { throw failure("the JSON ends where a value should start") }
        switch byte {
        case UInt8(ascii: "{"): return try container(close: UInt8(ascii: "}"), isObject: true)
        case UInt8(ascii: "["): return try container(close: UInt8(ascii: "]"), isObject: false)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            let word = identifier()
            switch word {
            case "true", "True": return .bool(true)
            case "false", "False": return .bool(false)
            case "null", "None": return .null
            case "": throw failure("unexpected character '\(String(decoding: [byte], as: UTF8.self))' where a value should start")
            default: throw failure("'\(word)' is not a JSON value")
            }
        }
    }

    private mutating func container(close: UInt8, isObject: Bool) throws(Failure) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw failure("JSON nested deeper than \(Self.maximumDepth) levels") }
        position += 1
        var members: [String: JSONValue] = [:]
        var elements: [JSONValue] = []
        while true {
            skipSpace()
            guard let byte = current else { throw failure("the JSON ends before its closing '\(Character(UnicodeScalar(close)))'") }
            if byte == close {
                position += 1
                return isObject ? .object(members) : .array(elements)
            }
            if isObject {
                let key: String
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    key = try string()
                } else {
                    key = identifier()
                    guard !key.isEmpty else { throw failure("expected a key in the JSON object") }
                }
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw failure("expected ':' after the key \"\(key)\"") }
                position += 1
                skipSpace()
                members[key] = try value()
            } else {
                elements.append(try value())
            }
            skipSpace()
            if current == UInt8(ascii: ",") {
                position += 1
            } else if current != close {
                throw failure(current == nil ? "the JSON ends before its closing '\(Character(UnicodeScalar(close)))'"
                                             : "expected ',' or '\(Character(UnicodeScalar(close)))'")
            }
        }
    }

    private mutating func identifier() -> String {
        let start = position
        while let byte = current, byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            || (position > start && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        {
            position += 1
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func string() throws(Failure) -> String {
        let quote = bytes[position]
        position += 1
        var out: [UInt8] = []
        while let byte = current {
            position += 1
            if byte == quote { return String(decoding: out, as: UTF8.self) }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard let escaped = current else { break }
            position += 1
            switch escaped {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                // A UTF-16 surrogate pair spells one scalar above U+FFFF.
                if (0xD800...0xDBFF).contains(scalar), current == UInt8(ascii: "\\"), position + 1 < bytes.count,
                   bytes[position + 1] == UInt8(ascii: "u")
                {
                    position += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) { scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00) }
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
            default: out.append(escaped) // \" \' \\ \/ and anything else: the character itself
            }
        }
        throw failure("a string is not closed")
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw failure("bad \\u escape") }
        position += 4
        return value
    }

    private mutating func number() throws(Failure) -> Double {
        let start = position
        if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
        while let byte = current,
              (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") || byte | 0x20 == UInt8(ascii: "e")
                || ((byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) && bytes[position - 1] | 0x20 == UInt8(ascii: "e"))
        {
            position += 1
        }
        var text = String(decoding: bytes[start..<position], as: UTF8.self)
        if text.hasPrefix("+") { text.removeFirst() }
        guard let value = Double(text), value.isFinite else {
            position = start
            throw failure("'\(String(decoding: bytes[start..<min(position + 12, bytes.count)], as: UTF8.self))' is not a finite number")
        }
        return value
    }
}
