import Foundation

extension Qwen3VL {
    /// A JSON value that keeps object keys in their order, and prints the way the chat templates'
    /// `tojson` does (Python's `json.dumps` with `ensure_ascii=False`): `", "` and `": "` separators,
    /// non-ASCII written as is, `<>&'` not escaped.
    public indirect enum OrderedJSON: Equatable, Sendable {
        case null
        case bool(Bool)
        case integer(Int)
        case number(Double)
        case string(String)
        case array([OrderedJSON])
        case object([(key: String, value: OrderedJSON)])

        public static func == (a: OrderedJSON, b: OrderedJSON) -> Bool { a.json == b.json }

        public subscript(key: String) -> OrderedJSON? {
            if case .object(let members) = self { return members.first { $0.key == key }?.value }
            return nil
        }

        public var string: String? { if case .string(let value) = self { value } else { nil } }

        /// The `tojson` text.
        public var json: String {
            switch self {
            case .null: "null"
            case .bool(let value): value ? "true" : "false"
            case .integer(let value): String(value)
            case .number(let value): value == value.rounded() && abs(value) < 1e16 ? String(format: "%.1f", value) : "\(value)"
            case .string(let value): Self.quote(value)
            case .array(let items): "[" + items.map(\.json).joined(separator: ", ") + "]"
            case .object(let members): "{" + members.map { Self.quote($0.key) + ": " + $0.value.json }.joined(separator: ", ") + "}"
            }
        }

        private static func quote(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }

        /// Parses strict JSON, keeping key order. Nil for anything that is not JSON.
        public init?(parsing text: String) {
            var parser = Parser(bytes: Array(text.utf8))
            guard let value = parser.value(depth: 0) else { return nil }
            parser.skipSpace()
            guard parser.position == parser.bytes.count else { return nil }
            self = value
        }

        private struct Parser {
            let bytes: [UInt8]
            var position = 0

            mutating func skipSpace() {
                while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
            }

            mutating func value(depth: Int) -> OrderedJSON? {
                skipSpace()
                guard position < bytes.count, depth < 128 else { return nil }
                switch bytes[position] {
                case UInt8(ascii: "{"):
                    position += 1
                    var members: [(key: String, value: OrderedJSON)] = []
                    skipSpace()
                    if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                    while true {
                        skipSpace()
                        guard case .string(let key)? = value(depth: depth + 1) else { return nil }
                        skipSpace()
                        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                        position += 1
                        guard let item = value(depth: depth + 1) else { return nil }
                        members.append((key, item))
                        skipSpace()
                        guard position < bytes.count else { return nil }
                        position += 1
                        if bytes[position - 1] == UInt8(ascii: "}") { return .object(members) }
                        guard bytes[position - 1] == UInt8(ascii: ",") else { return nil }
                    }
                case UInt8(ascii: "["):
                    position += 1
                    var items: [OrderedJSON] = []
                    skipSpace()
                    if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                    while true {
                        guard let item = value(depth: depth + 1) else { return nil }
                        items.append(item)
                        skipSpace()
                        guard position < bytes.count else { return nil }
                        position += 1
                        if bytes[position - 1] == UInt8(ascii: "]") { return .array(items) }
                        guard bytes[position - 1] == UInt8(ascii: ",") else { return nil }
                    }
                case UInt8(ascii: "\""):
                    return string()
                default:
                    for (word, value) in [("true", OrderedJSON.bool(true)), ("false", .bool(false)), ("null", .null)]
                    where bytes[position...].starts(with: word.utf8) {
                        position += word.utf8.count
                        return value
                    }
                    let start = position
                    while position < bytes.count, "+-0123456789.eE".utf8.contains(bytes[position]) { position += 1 }
                    let text = String(decoding: bytes[start..<position], as: UTF8.self)
                    if let integer = Int(text) { return .integer(integer) }
                    return Double(text).map(OrderedJSON.number)
                }
            }

            mutating func string() -> OrderedJSON? {
                position += 1
                var out: [UInt8] = []
                while position < bytes.count {
                    let byte = bytes[position]
                    position += 1
                    if byte == UInt8(ascii: "\"") { return .string(String(decoding: out, as: UTF8.self)) }
                    guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
                    guard position < bytes.count else { return nil }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard position + 4 <= bytes.count,
                              var scalar = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else { return nil }
                        position += 4
                        if (0xD800...0xDBFF).contains(scalar), position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                           let low = UInt32(String(decoding: bytes[position + 2..<position + 6], as: UTF8.self), radix: 16) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            position += 6
                        }
                        out.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                    default: out.append(escaped)
                    }
                }
                return nil
            }
        }
    }
}
