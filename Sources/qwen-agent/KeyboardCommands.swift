import ArgumentParser
import Desktop
import Keys
import Foundation

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Press key chords, one after another (`ctrl+shift+t`, `enter`, `alt+f4`).",
        discussion: """
            A chord's keys are pressed in order and released in reverse. Key names (case-insensitive):
            \(KeyNames.table.map { $0.names.joined(separator: "/") + " → " + $0.keysym }.joined(separator: "; ")).
            Any single character also names its key (`a`, `/`, `é`), and any X keysym name works as written \
            (`KP_Enter`, `XF86AudioMute`). Write the plus key as `plus` or `ctrl++`.
            """)

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "One or more chords.") var chords: [String]

    func validate() throws {
        if chords.isEmpty { throw ValidationError("give at least one chord, e.g. ctrl+s") }
    }

    func run() throws {
        let parsed = try reportingFailures { try chords.map { try KeyChord(parsing: $0) } } // bad chords fail before X is touched
        try desktop.withDisplay { display, _ in
            let input = try desktop.makeInput(display)
            for chord in parsed { try input.press(chord) }
        }
    }
}

struct TypeText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "type",
        abstract: "Type text exactly, Unicode included (é, ß, 世界, 🙂).",
        discussion: """
            Characters missing from the keyboard map are typed through a spare keycode bound for the \
            moment and restored afterwards. A newline presses Return and a tab Tab. Give - to read the \
            text from standard input (UTF-8). Text that starts with - goes after --: \
            qwen-agent type -- '-5 °C'. At most \(InputController.maxTypedCharacters) characters are typed \
            at a time (about 700 a second); longer text shows its progress on stderr.
            """)

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "The text to type, or - for standard input.") var text: String

    /// Text that takes longer than this to type reports its progress.
    private static let progressAfter = Duration.seconds(1)

    func run() throws {
        let content = try readText()
        try desktop.withDisplay { display, _ in
            let started = ContinuousClock.now
            var reported = started
            try desktop.makeInput(display).type(content) { typed, total in
                let now = ContinuousClock.now
                guard now - reported >= Self.progressAfter || (typed == total && reported != started) else { return }
                reported = now
                Self.showProgress("typed \(typed) of \(total) characters", final: typed == total)
            }
        }
    }

    /// The text, from the argument or standard input; bytes that are not UTF-8 are refused rather than
    /// typed as replacement characters.
    private func readText() throws -> String {
        let bytes = text == "-" ? [UInt8](FileHandle.standardInput.readDataToEndOfFile()) : Self.rawArgument(decodingTo: text)
        guard let content = String(validating: bytes, as: UTF8.self) else {
            let offset = Self.firstInvalidUTF8Offset(bytes)
            try fail("\(text == "-" ? "standard input" : "the text") is not valid UTF-8 (byte \(offset): 0x\(String(bytes[offset], radix: 16, uppercase: true))); "
                     + "qwen-agent types UTF-8 text only", status: ExitStatus.dataError)
        }
        return content
    }

    /// The bytes of the command-line argument Swift decoded to `text` (it repairs bad UTF-8 as U+FFFD).
    private static func rawArgument(decodingTo text: String) -> [UInt8] {
        for index in (1..<Int(CommandLine.argc)).reversed() {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) }
            if String(decoding: bytes, as: UTF8.self) == text { return bytes }
        }
        return Array(text.utf8)
    }

    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while case .scalarValue(let scalar) = decoder.decode(&iterator) { offset += UTF8.width(scalar) }
        return min(offset, bytes.count - 1)
    }

    /// On a terminal the line is rewritten in place; into a file or pipe each report is a line.
    private static func showProgress(_ line: String, final: Bool) {
        let terminal = isatty(STDERR_FILENO) == 1
        FileHandle.standardError.write(Data((terminal ? "\rqwen-agent: \(line)\(final ? "\n" : "")" : "qwen-agent: \(line)\n").utf8))
    }
}
