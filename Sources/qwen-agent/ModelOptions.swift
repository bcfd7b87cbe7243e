import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging
import EmbeddedModel
import Models
import Qwen3VL
import Qwen3VLPrompt

/// Where the model comes from, shared by the commands that think.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Replay model replies from this transcript (replies separated by a line `---8<---`); labelled scripted, never a model.",
                               valueName: "file"))
    var transcript: String?

    @Option(help: ArgumentHelp("Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, SGLang, llama.cpp, Ollama). An API key is read from $QWEN_AGENT_API_KEY.",
                               valueName: "url"))
    var endpoint: String?

    @Option(help: ArgumentHelp("With --endpoint: the model name the server knows. Otherwise: a Qwen3-VL model folder, or a Hugging Face repo id in the local cache, for the embedded engine (default: $QWEN_AGENT_MODEL).",
                               valueName: "name|dir"))
    var model: String?

    @Option(help: ArgumentHelp("Tokenizer files for the embedded engine, when not in the model folder.", valueName: "dir"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("Agent profile: a built-in name (desktop-thinking, desktop-instruct, auto), a name in ./Agents or ~/.config/qwen-agent/agents, or a .json file.",
                               valueName: "name|file"))
    var agent = Profile.defaultName

    @Option(help: ArgumentHelp("Largest screenshot sent to the model, in pixels (default: the profile's image.max_pixels, or image.embedded_max_pixels for the embedded engine).",
                               valueName: "n"))
    var maxPixels: Int?

    @Option(help: ArgumentHelp(
        "Longest the model may take for one step, in seconds (default: the profile's step_timeout_seconds). "
            + "On 2 cores the embedded engine needs about a second per 170 prompt tokens and per 12 reply tokens (int8 weights; 16 with int4).", valueName: "seconds"))
    var stepTimeout: Double?

    @Option(help: ArgumentHelp("With --agent auto: the Thinking model (a folder, or a name on the server); --model is then the Instruct one. "
                               + "With serve: the Chat tab's second model (a folder), loaded when first asked for.",
                               valueName: "name|dir"))
    var thinkingModel: String?

    @Option(help: ArgumentHelp("With --agent auto: the server of the Thinking model, when it is not --endpoint.", valueName: "url"))
    var thinkingEndpoint: String?

    @Option(help: "Embedded engine arithmetic: f32 (matches transformers float32) or bf16 (needs AVX512_BF16). Default: the fastest this CPU supports.",
            transform: oneOf(Qwen3VL.Precision.self))
    var precision: Qwen3VL.Precision?

    @Option(help: ArgumentHelp("Embedded engine weights: " + weightsHelp), transform: oneOf(Qwen3VL.WeightFormat.self))
    var weights: Qwen3VL.WeightFormat?

    @Option(help: ArgumentHelp("Where the embedded engine keeps agent profiles' system prompts, computed, between runs: a run's first step then starts "
                               + "from them (about 126 MB each for a 2B model; the newest \(EmbeddedModel.promptFilesKept) are kept). "
                               + "Default: $XDG_CACHE_HOME/qwen-agent/prompts, else ~/.cache/qwen-agent/prompts; 'none' keeps none.",
                               valueName: "dir|none"))
    var promptFiles: String?

    /// The folder for prompt files, or nil for none.
    var promptFilesFolder: URL? {
        switch promptFiles {
        case "none"?: nil
        case let folder?: URL(fileURLWithPath: folder)
        case nil: ModelLocation.promptFiles(ProcessInfo.processInfo.environment)
        }
    }

    func validate() throws {
        if precision != nil || weights != nil, endpoint != nil || transcript != nil {
            throw ValidationError("--precision and --weights choose the embedded engine's arithmetic; drop them with --endpoint or --transcript")
        }
        if promptFiles != nil, endpoint != nil || transcript != nil {
            throw ValidationError("--prompt-files is where the embedded engine keeps prompts; drop it with --endpoint or --transcript")
        }
        if let precision, !precision.isSupported {
            throw ValidationError("--precision \(precision.rawValue) needs AVX512_BF16, which this CPU lacks; use --precision f32")
        }
        if thinkingEndpoint != nil && thinkingModel == nil { throw ValidationError("--thinking-endpoint needs --thinking-model NAME") }
        if let stepTimeout, !(stepTimeout > 0) { throw ValidationError("--step-timeout must be a positive number of seconds") }
        if let maxPixels, maxPixels <= 0 { throw ValidationError("--max-pixels must be a positive number of pixels, e.g. 1003520") }
        if endpoint != nil && transcript != nil { throw ValidationError("give --endpoint or --transcript, not both") }
        if endpoint != nil && model == nil { throw ValidationError("--endpoint needs --model NAME (the model the server serves)") }
        if transcript != nil && model != nil { throw ValidationError("give --model or --transcript, not both") }
    }

    func makeModel(timeout: Double, logger: Logger, profile: Profile? = nil) throws -> any VisionLanguageModel {
        if endpoint == nil, transcript == nil,
           let folder = model ?? ProcessInfo.processInfo.environment["QWEN_AGENT_MODEL"].flatMap({ $0.isEmpty ? nil : $0 })
        {
            let folderURL = try ModelLocation.resolve(folder)
            chooseBLASKernels()
            let weights = weights ?? .fastest
            do {
                let embedded = try EmbeddedModel(folder: folderURL, tokenizerFolder: tokenizer.map { URL(fileURLWithPath: $0) },
                                                 minPixels: profile?.image.minPixels, maxPixels: profile?.image.embeddedMaxPixels,
                                                 precision: precision ?? .fastest, weights: weights, promptFiles: promptFilesFolder,
                                                 logger: logger) { files in
                    announceQuantizing(folderURL, weights, files: files)
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

    /// Who thinks each step: the profile's model, or for a router profile (`--agent auto`) the
    /// Instruct model (`--model`) and the Thinking one (`--thinking-model`, on `--thinking-endpoint`
    /// or the same server); one transcript serves both.
    func makeStepModels(logger: Logger) throws -> StepModels {
        let router: RouterProfile?
        do { router = try RouterProfile.load(agent) } catch { try fail(error.message, status: ExitStatus.usage) }
        guard let router else {
            let profile = try loadProfile()
            return .one(ModelSeat(profile: profile, model: try makeModel(timeout: profile.stepTimeoutSeconds, logger: logger, profile: profile)))
        }
        let instruct = try loadProfile(router.router.instruct), thinking = try loadProfile(router.router.thinking)
        let first = try makeModel(timeout: instruct.stepTimeoutSeconds, logger: logger, profile: instruct)
        let second: any VisionLanguageModel
        if transcript != nil {
            second = first
        } else if let thinkingModel {
            var options = self
            options.model = thinkingModel
            options.endpoint = thinkingEndpoint ?? endpoint
            second = try options.makeModel(timeout: thinking.stepTimeoutSeconds, logger: logger, profile: thinking)
        } else {
            try fail("--agent \(agent) routes between two models: give the Instruct one with --model and the Thinking one with --thinking-model "
                     + "(and --thinking-endpoint when it is on another server)", status: ExitStatus.usage)
        }
        return .routed(instruct: ModelSeat(profile: instruct, model: first), thinking: ModelSeat(profile: thinking, model: second),
                       policy: router.router.policy)
    }

    func loadProfile(_ name: String? = nil) throws -> Profile {
        var profile = try Self.profile(named: name ?? agent)
        if let stepTimeout { profile.stepTimeoutSeconds = stepTimeout }
        if let maxPixels {
            do { try profile.overrideMaxPixels(maxPixels) } catch { try fail(error.message, status: ExitStatus.usage) }
        }
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

/// What `--weights` offers, for `run` and `generate`.
let weightsHelp = "bf16 (as stored), int8 (blocks of 32, made once and saved next to the model; about half the memory, faster) "
    + "or int4 (decoder layers in 4 bits; decodes faster again, less exact). Default: int8 where the CPU has AVX512_VNNI, else bf16."
