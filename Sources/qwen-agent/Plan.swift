import Agent
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging
import Models
import Qwen3VL

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
        let profile = try model.loadProfile()
        let logger = desktop.makeLogger()
        let brain = try model.makeModel(timeout: profile.stepTimeoutSeconds, logger: logger, profile: profile)
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
        guard let screenshot, let space = CoordinateMapping.CoordinateSpace(profileValue: profile.coordinateSpace) else {
            try fail("the profile's coordinate_space '\(profile.coordinateSpace)' is not relative, pixels or resized:WxH", status: ExitStatus.usage)
        }
        print("task: \(task)\nmodel: \(brain.identity)  profile: \(profile.name)  screen: \(screenshot.size) at +\(origin.x)+\(origin.y)\n")
        // A model failure ends the command through the one error-to-status table (`Failure`).
        var result = try await Planner(profile: profile, model: brain).plan(
            task: task, screenshot: screenshot, origin: origin, mapping: space,
            onText: { piece in show(piece, terminator: "") })
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
