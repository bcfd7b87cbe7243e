import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging
import Models
import Qwen3VL
import Qwen3VLPrompt

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Think about a task on the current screen and show the planned actions — touch nothing.",
        discussion: """
            Captures the screen (or --monitor), asks the model, parses its reply and prints each planned \
            action with its screen coordinates and the text it came from, streaming the model's reasoning \
            as it arrives. Writes a PNG of the screenshot with numbered markers at the planned points and \
            arrows for drags. No input event is sent.
            """)

    @Argument(help: "The task, in words.") var task: String
    @OptionGroup var model: ModelOptions
    @OptionGroup var desktop: DesktopOptions

    @Option(help: ArgumentHelp("The monitor to show the model (default: the whole screen).", valueName: "name"))
    var monitor: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the annotated screenshot.", valueName: "file.png"))
    var output = "plan.png"

    func run() async throws {
        try await Self.plan(task: task, model: model, desktop: desktop, monitor: monitor, output: output)
    }

    /// The plan mode, shared with `qwen-agent --dry-run`.
    static func plan(task: String, model: ModelOptions, desktop: DesktopOptions, monitor: String?, output: String) async throws {
        try FileChecks.requireWritable(output)
        let logger = desktop.makeLogger()
        let seat = try model.makeStepModels(logger: logger).lead
        var screenshot: RGBImage?
        var origin = Point(x: 0, y: 0)
        var pointer: Point?
        try reportingFailures {
            let display = try Display(name: desktop.display, logger: logger)
            pointer = display.pointerRootPosition()
            let area = try monitor.map { try display.monitor(named: $0).bounds }
            origin = area?.origin ?? origin
            screenshot = try ScreenCapturer(display: display).capture(area)
        }
        guard let screenshot else { return }
        print("task: \(task)\nmodel: \(seat.model.identity)  profile: \(seat.profile.name)  screen: \(screenshot.size) at +\(origin.x)+\(origin.y)\n")
        Interruption.install()
        let events = AgentEvents.printing()
        // A model failure or a timeout ends the command through the one error-to-status table (`Failure`).
        var result = try await Planner(seat: seat).plan(task: task, screenshot: screenshot, origin: origin, isAborted: { Interruption.requested }) { event in
            switch event {
            case .text(let piece): events.text(piece)
            case .status(let status): events.status(status)
            case .cost(let cost): events.note(cost.description)
            }
        }
        result.pointer = pointer
        print("\n\n" + result.report.humanReadable)
        for (index, planned) in (result.report.plan?.actions ?? []).enumerated() {
            print("  \(index + 1) came from: \(planned.sourceText.replacingOccurrences(of: "\n", with: " ").prefix(160))")
        }
        try reportingFailures { try PNG.write(result.picture, to: URL(fileURLWithPath: output)) }
        print("plan drawn on the screenshot: \(output)")
        if !result.report.isSuccess { throw ExitCode(ExitStatus.dataError) }
    }
}
