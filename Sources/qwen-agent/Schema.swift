import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Models
import Qwen3VL
import Qwen3VLPrompt

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the system message an agent profile sends: its instructions and the computer_use tool block.",
        discussion: """
            The tool block is generated from the action table, with the extensions the profile turns on \
            and any tool text it replaces, and states the screen's resolution in the profile's coordinate \
            space (1000x1000 for relative coordinates; for pixel coordinates, the size the screenshot is \
            resized to). Where the profile came from and how the screenshot is sized go to stderr, so \
            stdout is exactly what the model reads.

            Exit statuses: 0 printed; 64 bad arguments or a profile that cannot be used.
            """)

    @Option(help: ArgumentHelp("Agent profile: a built-in name, a name in ./Agents or ~/.config/qwen-agent/agents, or a .json file.",
                               valueName: "name|file"))
    var agent = Profile.defaultName

    @Option(help: ArgumentHelp("The screen (or monitor) size the screenshot is captured at.", valueName: "WxH"))
    var screen = "1920x1080"

    @Flag(help: "Size the screenshot as for the embedded engine (the profile's image.embedded_max_pixels).")
    var embedded = false

    @Option(help: ArgumentHelp("Largest screenshot sent to the model, in pixels, as in a run.", valueName: "n"))
    var maxPixels: Int?

    @Flag(help: "Print only the tool's JSON (one line, as it appears inside <tools></tools>).")
    var toolOnly = false

    func validate() throws {
        if let maxPixels, maxPixels <= 0 { throw ValidationError("--max-pixels must be a positive number of pixels, e.g. 1003520") }
        guard Self.size(screen) != nil else { throw ValidationError("--screen must be WIDTHxHEIGHT, e.g. 1920x1080, not '\(screen)'") }
    }

    func run() throws {
        do {
            if let router = try RouterProfile.load(agent) {
                try fail("--agent \(agent) routes between \(router.router.instruct) and \(router.router.thinking); show one of them with --agent NAME",
                         status: ExitStatus.usage)
            }
        } catch let error as ProfileError {
            try fail(error.message, status: ExitStatus.usage)
        }
        var profile = try ModelOptions.profile(named: agent)
        if let maxPixels {
            do { try profile.overrideMaxPixels(maxPixels) } catch { try fail(error.message, status: ExitStatus.usage) }
        }
        let screen = Self.size(screen)!
        let limits = profile.image.limits(for: embedded ? .embedded : .served)
        let (sent, space) = ModelImage.shape(for: screen, limits: limits, space: profile.coordinateSpace)
        FileHandle.standardError.write(Data((
            "profile \(profile.name) (\(profile.origin)); coordinates: \(space.profileValue); a \(screen) screen is sent as \(sent), "
                + "\(ModelImage.tokens(for: sent)) image tokens (max_pixels \(limits.maxPixels))\n").utf8))
        if toolOnly {
            print(ToolSchema.computerUse(resolution: space.extent(imageSize: sent), options: profile.tool).json)
        } else {
            print(profile.systemMessage(for: space, imageSize: sent))
        }
    }

    private static func size(_ text: String) -> Size? {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
        return Size(width: parts[0], height: parts[1])
    }
}
