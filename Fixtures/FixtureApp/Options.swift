import Glibc

/// `qwen-agent-fixture --log FILE [--display NAME] [--x 100] [--y 80] [--width 640] [--height 400] [--no-focus]
/// [--title TITLE] [--scenario basic|login] [--start login|home] [--user NAME]`
struct Options: Sendable {
    /// What the window shows: the basic widgets (swatches, field, buttons), or a login flow (LoginScenario).
    enum Scenario: String, Sendable {
        case basic, login
    }

    var logPath = ""
    var display: String?
    var x = 100
    var y = 80
    var width = 640
    var height = 400
    var focus = true
    var title = "qwen-agent fixture"
    var scenario = Scenario.basic
    /// `--scenario login`: the first screen, and the signed-in user when that is the home screen.
    var start = LoginScreen.login
    var user = "ada"

    static let usage =
        "usage: qwen-agent-fixture --log FILE [--display NAME] [--x X] [--y Y] [--width W] [--height H]"
        + " [--no-focus] [--title TITLE] [--scenario basic|login] [--start login|home] [--user NAME]"

    /// Parses `arguments` (without the program name); any mistake prints one line on stderr and exits 64.
    init(parsingOrExit arguments: [String]) {
        var rest = arguments[...]
        var sawLog = false
        var sawLoginOption = false

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
        func choice<Choice: RawRepresentable<String>>(for flag: String) -> Choice {
            let text = value(for: flag)
            guard let parsed = Choice(rawValue: text) else { fail("invalid value '\(text)' for \(flag)", status: 64) }
            return parsed
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
            case "--scenario": scenario = choice(for: flag)
            case "--start":
                start = choice(for: flag)
                sawLoginOption = true
            case "--user":
                user = value(for: flag)
                guard !user.isEmpty else { fail("invalid value '' for \(flag)", status: 64) }
                sawLoginOption = true
            case "--help", "-h":
                print(Options.usage)
                exit(0)
            default: fail("unknown option '\(flag)'; \(Options.usage)", status: 64)
            }
        }
        guard sawLog, !logPath.isEmpty else { fail("--log FILE is required; \(Options.usage)", status: 64) }
        if sawLoginOption, scenario != .login { fail("--start and --user need --scenario login", status: 64) }
        guard x <= Int(Int16.max), y <= Int(Int16.max), width <= Int(UInt16.max), height <= Int(UInt16.max) else {
            fail("window geometry out of range", status: 64)
        }
    }
}
