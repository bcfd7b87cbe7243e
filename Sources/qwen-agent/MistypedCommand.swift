import ArgumentParser
import Foundation

/// A task is the default command, so `qwen-agent monitor` would start the agent on the live desktop
/// with the task "monitor". A one-word task that is a command name, or one or two letters away from
/// one, is taken for a mistyped command and refused; `qwen-agent run WORD` runs it as a task anyway.
enum MistypedCommand {
    /// The command `word` looks like a misspelling of (or is, in other letter case); nil when it is a
    /// command as written or close to none.
    static func suggestion(for word: String) -> String? {
        let names = QwenAgent.subcommandNames
        guard !names.contains(word), !word.contains(where: \.isWhitespace), !word.hasPrefix("-") else { return nil }
        let typed = Array(word.lowercased())
        let nearest = names.map { (name: $0, distance: editDistance(typed, Array($0))) }.min { $0.distance < $1.distance }
        guard let nearest else { return nil }
        // One slip in a short name, two in a longer one: "mute" is not "move", "clik" is "click".
        return nearest.distance <= (nearest.name.count <= 4 ? 1 : 2) ? nearest.name : nil
    }

    static func message(word: String, command: String) -> String {
        "unknown command '\(word)' — did you mean '\(command)'? (to give it to the agent as a task: qwen-agent run '\(word)')"
    }

    /// Refuses a task nobody means: empty, or a single word that looks like a command. `explicitly`
    /// is true when the user typed `run`, which says the word is a task.
    static func check(task: String, explicitly: Bool) throws {
        if task.allSatisfy(\.isWhitespace) {
            throw ValidationError("the task is empty: say in words what to do, e.g. qwen-agent \"log out of the app\"")
        }
        if !explicitly, let command = suggestion(for: task) { throw ValidationError(message(word: task, command: command)) }
    }

    /// Whether this process was started as `qwen-agent run …` rather than with the task first.
    static var runWasTyped: Bool { CommandLine.arguments.dropFirst().first == Run._commandName }

    /// Levenshtein distance with adjacent transpositions counted as one edit ("optimal string alignment").
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
