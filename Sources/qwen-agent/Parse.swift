public import AgentCore
public import ArgumentParser
import Desktop
import Foundation
public import Imaging

struct Parse: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a model output would do: its actions with screen coordinates, or why it does not parse.",
        discussion: """
            Reads a model output (a file, or - for standard input) and prints the plan: each action with its \
            point in screen pixels, mapped through the coordinate contract (README, "Coordinates"). Nothing \
            is executed. A Thinking output must contain </think>; give --shape instruct for Instruct models.

            --json prints a stable format for scripts: `status` ("ok" or the failure kind: empty_output, \
            unterminated_thinking, malformed_tool_call, unknown_action, invalid_arguments, no_action, \
            coordinate_out_of_range), `reason` when not ok, `source`, and `actions`, each with `action` \
            (its name in the action table), `x`/`y` in screen pixels (a drag's start; `x2`/`y2` its end), \
            `text`, `keys`, `amount`, `seconds`, `terminate_status`, `model` and `span`.

            Exit status: 0 when the output parses and every point is on the image; 65 otherwise.
            """)

    @Argument(help: "The model output: a file, or - for standard input.")
    var file = "-"

    @Option(help: ArgumentHelp("Size of the screenshot the model saw. Default: the monitor's, or the whole screen's.",
                               valueName: "WxH"))
    var imageSize: Size?

    @Option(help: ArgumentHelp("The monitor the screenshot showed: its offset is added to every point.", valueName: "name"))
    var monitor: String?

    @Option(help: ArgumentHelp("How the model writes coordinates: relative (0–1000, Qwen3-VL), pixels (of the image), or resized:WxH (Qwen2.5-VL: pixels of the resized image).",
                               valueName: "space"))
    var coordinates = "relative"

    @Option(help: "The output's shape: thinking (must contain </think>) or instruct.")
    var shape: OutputShape = .thinking

    @Flag(help: "Print the stable JSON format instead of text.")
    var json = false

    @OptionGroup var desktop: DesktopOptions

    func run() throws {
        let text: String
        do {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            text = String(decoding: data, as: UTF8.self)
        } catch {
            try fail("cannot read \(file): \(error.localizedDescription)", status: ExitStatus.dataError)
        }
        guard let space = CoordinateMapping.CoordinateSpace(profileValue: coordinates) else {
            try fail("--coordinates must be relative, pixels or resized:WxH, not '\(coordinates)'", status: ExitStatus.usage)
        }
        var origin = Point(x: 0, y: 0)
        var size = imageSize
        if size == nil, monitor == nil, desktop.display == nil, (ProcessInfo.processInfo.environment["DISPLAY"] ?? "").isEmpty {
            try fail("give --image-size WxH (the size of the screenshot the model saw), or run on an X display", status: ExitStatus.usage)
        }
        if monitor != nil || size == nil {
            try desktop.withDisplay { display, _ in
                let area = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
                origin = area.origin
                size = size ?? area.size
            }
        }
        let report = PlanReport(text: text, shape: shape, mapping: CoordinateMapping(space: space, imageSize: size!, imageOrigin: origin))
        print(json ? report.json : report.humanReadable)
        if !report.isSuccess { throw ExitCode(ExitStatus.dataError) }
    }
}

extension Size: ExpressibleByArgument {
    public init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
        self.init(width: parts[0], height: parts[1])
    }
}

extension OutputShape: ExpressibleByArgument {}
