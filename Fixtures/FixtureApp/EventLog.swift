import Glibc

/// A JSON value whose objects keep their keys in the order written.
enum JSON: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(nilLiteral: ()) { self = .null }

    /// `.string(value)`, or `.null` when `value` is nil.
    static func optional(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }

    /// Compact JSON text: `"`, `\` and control characters are escaped, everything else stays raw UTF-8.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .string(let value): JSON.writeString(value, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                JSON.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension Widget {
    /// The widget as listed in `ready`, `screen` and `menu` events: name, kind, label (if any), frame in window
    /// pixels, colour (swatches).
    var json: JSON {
        var fields: [(String, JSON)] = [("name", .string(name)), ("kind", .string(kind.rawValue))]
        if let label { fields.append(("label", .string(label))) }
        fields += [
            ("x", .int(frame.x)), ("y", .int(frame.y)), ("width", .int(frame.width)), ("height", .int(frame.height)),
        ]
        if let color { fields.append(("color", .string(color.hex))) }
        return .object(fields)
    }
}

/// The `--log` file: one JSON object per line, each line written with a single `write(2)` so a reader polling
/// the file only ever sees whole lines.
final class EventLog {
    private let descriptor: Int32

    /// Creates or truncates `path`; on failure prints one line on stderr and exits with `EX_CANTCREAT` (73).
    init(creatingOrExitAt path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            fail("cannot open log file '\(path)': \(reason)", status: 73)
        }
        descriptor = fd
    }

    /// Appends `{"event":name, ...fields}` and a newline.
    func record(_ name: String, _ fields: [(String, JSON)] = []) {
        let line = JSON.object([("event", .string(name))] + fields).text + "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // The reader went away (disk full, ...); keep running, tests will notice.
                }
                offset += written
            }
        }
    }
}

/// Prints `qwen-agent-fixture: message` as one line on stderr.
func warn(_ message: String) {
    let line = Array("qwen-agent-fixture: \(message)\n".utf8)
    _ = line.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Prints `qwen-agent-fixture: message` as one line on stderr and exits.
func fail(_ message: String, status: Int32) -> Never {
    warn(message)
    exit(status)
}
