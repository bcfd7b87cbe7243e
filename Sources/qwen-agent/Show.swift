import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a session as one self-contained HTML page: each step's screenshot with the action marked, the reasoning, the coordinates, verification and timings.",
        discussion: """
            A frame that is missing or not a PNG is drawn as a placeholder and named in a warning on stderr; \
            the report is still written. Exit statuses: 0 written; 65 the session cannot be read; 73 the \
            report cannot be written.
            """)

    @Argument(help: "The session folder (printed by `qwen-agent TASK` as `session: …`).") var session: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "report.html"))
    var output = "report.html"

    func run() throws {
        let log = try reportingFailures { try SessionLog.read(URL(fileURLWithPath: session)) }
        let report = SessionReport(log)
        for warning in log.warnings + report.warnings { writeErrorLine("warning: \(warning)") }
        do {
            try Data(report.html.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            try fail("cannot write \(output): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
        }
        print("\(output): \(log.steps.count) step(s), outcome \(log.outcome?.outcome ?? "unfinished")")
    }
}
