import Agent
import ArgumentParser
import Desktop
import Foundation

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a session as one self-contained HTML page: each step's screenshot with the action marked, the reasoning, the coordinates, verification and timings.")

    @Argument(help: "The session folder (printed by `qwen-agent TASK` as `session: …`).") var session: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "report.html"))
    var output = "report.html"

    func run() throws {
        let log: SessionLog
        let html: String
        do {
            log = try SessionLog.read(URL(fileURLWithPath: session))
            html = try SessionReport.html(for: log)
        } catch {
            try fail(error.message, status: ExitStatus.dataError)
        }
        for warning in log.warnings { FileHandle.standardError.write(Data("qwen-agent: warning: \(warning)\n".utf8)) }
        do {
            try Data(html.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            try fail("cannot write \(output): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
        }
        print("\(output): \(log.steps.count) step(s), outcome \(log.outcome?.outcome ?? "unfinished")")
    }
}
