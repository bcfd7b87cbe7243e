import Agent
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging
import Models
import Qwen3VL

/// Where the model comes from, shared by the commands that think.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Replay model replies from this transcript (replies separated by a line `---8<---`); labelled scripted, never a model.",
                               valueName: "file"))
    var transcript: String?

    @Option(help: ArgumentHelp("Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, SGLang, llama.cpp, Ollama). An API key is read from $QWEN_AGENT_API_KEY.",
                               valueName: "url"))
    var endpoint: String?

    @Option(help: ArgumentHelp("With --endpoint: the model name the server knows. Otherwise: a Qwen3-VL model folder for the embedded engine (default: $QWEN_AGENT_MODEL).",
                               valueName: "name|dir"))
    var model: String?

    @Option(help: ArgumentHelp("Tokenizer files for the embedded engine, when not in the model folder.", valueName: "dir"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("Agent profile: a name in Agents/ or a .json file.", valueName: "name|file"))
    var agent = "desktop-thinking"

    @Option(help: ArgumentHelp(
        "Longest the model may take for one step, in seconds (default: the profile's step_timeout_seconds). "
            + "On a CPU the embedded engine needs about a second per 100 prompt tokens and per 5 reply tokens.", valueName: "seconds"))
    var stepTimeout: Double?

    func validate() throws {
        if let stepTimeout, !(stepTimeout > 0) { throw ValidationError("--step-timeout must be a positive number of seconds") }
        if endpoint != nil && transcript != nil { throw ValidationError("give --endpoint or --transcript, not both") }
        if endpoint != nil && model == nil { throw ValidationError("--endpoint needs --model NAME (the model the server serves)") }
        if transcript != nil && model != nil { throw ValidationError("give --model or --transcript, not both") }
    }

    func makeModel(timeout: Double, logger: Logger, profile: Profile? = nil) throws -> any VisionLanguageModel {
        if endpoint == nil, transcript == nil,
           let folder = model ?? ProcessInfo.processInfo.environment["QWEN_AGENT_MODEL"].flatMap({ $0.isEmpty ? nil : $0 })
        {
            chooseBLASKernels()
            do {
                let embedded = try EmbeddedModel(folder: URL(fileURLWithPath: folder), tokenizerFolder: tokenizer.map { URL(fileURLWithPath: $0) },
                                                 minPixels: profile?.image.minPixels, maxPixels: profile?.image.maxPixels, logger: logger) {
                    show("  [\($0)…]")
                }
                if let profile, embedded.isThinking != (profile.shape == .thinking) {
                    FileHandle.standardError.write(Data("qwen-agent: warning: \(folder) is a\(embedded.isThinking ? " Thinking" : "n Instruct") model but the profile \(profile.name) expects \(profile.shape.rawValue); pass --agent desktop-\(embedded.isThinking ? "thinking" : "instruct")\n".utf8))
                }
                return embedded
            } catch {
                try fail(error.message, status: ExitStatus.dataError)
            }
        }
        if let endpoint {
            guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https" else {
                try fail("--endpoint '\(endpoint)' is not an http(s) URL", status: ExitStatus.usage)
            }
            let key = ProcessInfo.processInfo.environment["QWEN_AGENT_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            return OpenAICompatibleModel(endpoint: url, model: model ?? "", apiKey: key, timeout: .seconds(timeout), logger: logger)
        }
        guard let transcript else {
            try fail("no model: give --model DIR (a Qwen3-VL folder, or set QWEN_AGENT_MODEL) for the embedded engine, "
                     + "--endpoint URL --model NAME for a served model, or --transcript FILE for scripted replies", status: ExitStatus.usage)
        }
        do {
            return try ScriptedModel(transcript: URL(fileURLWithPath: transcript))
        } catch {
            try fail(error.message, status: ExitStatus.dataError)
        }
    }

    func loadProfile() throws -> Profile {
        var profile = try Self.profile(named: agent)
        if let stepTimeout { profile.stepTimeoutSeconds = stepTimeout }
        return profile
    }

    static func profile(named name: String) throws -> Profile {
        do {
            return try Profile.load(name)
        } catch {
            try fail(error.message, status: ExitStatus.usage)
        }
    }
}

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
        let profile = try model.loadProfile()
        let logger = desktop.makeLogger()
        let brain = try model.makeModel(timeout: profile.stepTimeoutSeconds, logger: logger, profile: profile)
        var screenshot: RGBImage?
        var origin = Point(x: 0, y: 0)
        try reportingFailures {
            let display = try Display(name: desktop.display, logger: logger)
            let area = try monitor.map { try display.monitor(named: $0).bounds }
            origin = area?.origin ?? origin
            screenshot = try ScreenCapturer(display: display).capture(area)
        }
        guard let screenshot, let space = CoordinateMapping.CoordinateSpace(profileValue: profile.coordinateSpace) else {
            try fail("the profile's coordinate_space '\(profile.coordinateSpace)' is not relative, pixels or resized:WxH", status: ExitStatus.usage)
        }
        print("task: \(task)\nmodel: \(brain.identity)  profile: \(profile.name)  screen: \(screenshot.size) at +\(origin.x)+\(origin.y)\n")
        let result: PlanResult
        do {
            result = try await Planner(profile: profile, model: brain).plan(
                task: task, screenshot: screenshot, origin: origin, mapping: space,
                onText: { piece in show(piece, terminator: "") })
        } catch let error as ModelError {
            try fail("the model failed: \(error.message)", status: ExitStatus.displayUnavailable)
        }
        print("\n\n" + result.report.humanReadable)
        for (index, planned) in (result.report.plan?.actions ?? []).enumerated() {
            print("  \(index + 1) came from: \(planned.sourceText.replacingOccurrences(of: "\n", with: " ").prefix(160))")
        }
        try reportingFailures { try PNG.write(result.picture, to: URL(fileURLWithPath: output)) }
        print("plan drawn on the screenshot: \(output)")
        if !result.report.isSuccess { throw ExitCode(ExitStatus.dataError) }
    }
}
