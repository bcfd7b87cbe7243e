import ArgumentParser
import Desktop
import Foundation

@main
struct QwenAgent: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "qwen-agent",
        abstract: "Let a vision-language model operate an X11 desktop — and drive the desktop by hand.",
        discussion: """
            The low-level commands below capture the screen and send input through XTest on $DISPLAY \
            (or --display). Coordinates are root-window pixels, (0, 0) at the top-left of the whole screen.

            \(ExitStatus.table)
            """,
        version: version,
        subcommands: [Run.self, Demo.self, Plan.self, Record.self, Replay.self, Show.self, Parse.self, Schema.self, Generate.self, MCP.self, ServeCommand.self, Monitors.self, Capture.self, Click.self, Move.self, Drag.self, Scroll.self, Key.self,
                      TypeText.self],
        defaultSubcommand: Run.self)

    /// ArgumentParser's `main`, except that an argument error is one line on stderr like every other
    /// error (`--help` stays whole), and a mistyped command is named as one instead of becoming a task.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            guard !arguments.isEmpty else {
                throw Failure("give a task in words (qwen-agent \"log out of the app\") or a command; qwen-agent --help lists them",
                              status: ExitStatus.usage)
            }
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if let failure = Failure(error) {
                writeErrorLine(failure.message)
                Foundation.exit(failure.status)
            }
            let status = exitCode(for: error)
            if status.isSuccess {
                print(fullMessage(for: error)) // --help, --version
                Foundation.exit(0)
            }
            if status == .validationFailure, let first = arguments.first, let command = MistypedCommand.suggestion(for: first) {
                writeErrorLine(MistypedCommand.message(word: first, command: command))
            } else {
                writeErrorLine(oneLine(message(for: error), command: arguments.first.flatMap { subcommandNames.contains($0) ? $0 : nil }))
            }
            Foundation.exit(status.rawValue)
        }
    }

    static var subcommandNames: [String] { configuration.subcommands.map { $0._commandName } }

    /// ArgumentParser's message for an argument error, as one line that says where the usage is.
    private static func oneLine(_ message: String, command: String?) -> String {
        let flat = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        // ArgumentParser capitalizes its sentences; the tool's lines start in lower case.
        let sentence = flat.first.map { first in
            flat.dropFirst().first?.isLowercase == true ? first.lowercased() + flat.dropFirst() : flat
        } ?? flat
        let hint = switch command {
        case nil: "; a task of several words goes in quotes, qwen-agent \"log out of the app\""
        case TypeText._commandName?: "; text that starts with - goes after --, qwen-agent type -- '-x'"
        default: ""
        }
        return "\(sentence) (see qwen-agent \(command.map { "\($0) " } ?? "")--help\(hint))"
    }
}
