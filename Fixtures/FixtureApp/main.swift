// qwen-agent-fixture: a small X11 window with known colours, buttons and a text field that appends every
// event it receives to a JSON-lines log, so tests can check what their synthetic input delivered.
//
//   qwen-agent-fixture --log FILE [--display NAME] [--x 100] [--y 80] [--width 640] [--height 400]
//                      [--no-focus] [--title TITLE] [--scenario basic|login] [--start login|home] [--user NAME]
//
// `--scenario login` shows a small sign-in flow instead (LoginScenario.swift): a login screen, a home screen with an
// avatar menu, and a `screen` event each time the screen changes.
//
// Exit status: 0 when killed with SIGTERM/SIGINT or when the X connection dies; 64 for a bad command line;
// 69 when the display cannot be opened; 73 when the log file cannot be created.
import CX11
import Glibc

let options = Options(parsingOrExit: Array(CommandLine.arguments.dropFirst()))
let log = EventLog(creatingOrExitAt: options.logPath)

// Every line is written with write(2) as it happens, so nothing is lost by leaving at once.
signal(SIGTERM) { _ in _exit(0) }
signal(SIGINT) { _ in _exit(0) }
signal(SIGPIPE, SIG_IGN)

// A dead X connection (Xvfb killed) ends the app quietly.
XSetIOErrorHandler { _ in exit(0) }
// Protocol errors are reported but not fatal (the default handler exits).
XSetErrorHandler { display, error in
    guard let error else { return 0 }
    var text = [CChar](repeating: 0, count: 256)
    XGetErrorText(display, Int32(error.pointee.error_code), &text, Int32(text.count))
    let description = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    warn("X error: \(description) (request \(error.pointee.request_code))")
    return 0
}

FixtureApp(options: options, log: log).run()
