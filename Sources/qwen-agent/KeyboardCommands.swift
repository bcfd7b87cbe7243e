import ArgumentParser
import Desktop
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
        try desktop.withDisplay { display, _ in
            let parsed = try chords.map { try KeyChord(parsing: $0) }
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
            text from standard input.
            """)

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "The text to type, or - for standard input.") var text: String

    func run() throws {
        let content = text == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : text
        try desktop.withDisplay { display, _ in try desktop.makeInput(display).type(content) }
    }
}
