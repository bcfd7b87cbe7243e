import Glibc

/// `qwen-agent-fixture --log FILE [--display NAME] [--x 100] [--y 80] [--width 640] [--height 400] [--no-focus]
/// [--title TITLE]`
struct Options: Sendable {
    var logPath = ""
    var display: String?
    var x = 100
    var y = 80
    var width = 640
    var height = 400
    var focus = true
    var title = "qwen-agent fixture"

    static let usage =
        "usage: qwen-agent-fixture --log FILE [--display NAME] [--x X] [--y Y] [--width W] [--height H]"
        + " [--no-focus] [--title TITLE]"

    /// Parses `arguments` (without the program name); any mistake prints one line on stderr and exits 64.
    init(parsingOrExit arguments: [String]) {
        var rest = arguments[...]
        var sawLog = false

        func value(for flag: String) -> String {
            guard let value = rest.popFirst() else { fail("missing value for \(flag)", status: 64) }
            return value
        }
        func integer(for flag: String, minimum: Int) -> Int {
            let text = value(for: flag)
            guard let number = Int(text), number >= minimum else {
                fail("invalid value '\(text)' for \(flag)", status: 64)
            }
            return number
        }

        while let flag = rest.popFirst() {
            switch flag {
            case "--log":
                logPath = value(for: flag)
                sawLog = true
            case "--display": display = value(for: flag)
            case "--x": x = integer(for: flag, minimum: Int(Int16.min))
            case "--y": y = integer(for: flag, minimum: Int(Int16.min))
            case "--width": width = integer(for: flag, minimum: 1)
            case "--height": height = integer(for: flag, minimum: 1)
            case "--no-focus": focus = false
            case "--title": title = value(for: flag)
            case "--help", "-h":
                print(Options.usage)
                exit(0)
            default: fail("unknown option '\(flag)'; \(Options.usage)", status: 64)
            }
        }
        guard sawLog, !logPath.isEmpty else { fail("--log FILE is required; \(Options.usage)", status: 64) }
        guard x <= Int(Int16.max), y <= Int(Int16.max), width <= Int(UInt16.max), height <= Int(UInt16.max) else {
            fail("window geometry out of range", status: 64)
        }
    }
}
