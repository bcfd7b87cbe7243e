import ArgumentParser
import Desktop
import Foundation
import Imaging
import Qwen3VL
import Qwen3VLPrompt
import Units

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the embedded Qwen3-VL engine alone on a prompt, with images if given, and stream the reply.",
        discussion: """
            Loads a Hugging Face model folder (config.json, *.safetensors, tokenizer files), or a repo id \
            such as Qwen/Qwen3-VL-2B-Thinking from the local Hugging Face cache (nothing is downloaded). \
            The prompt is one user turn in the folder's own chat template, after the --image pictures \
            (Thinking models: the generation prompt ends with <think>); --raw feeds it as it is. A timing \
            line, which names the precision and weight format, goes to stderr.
            """)

    @Option(help: ArgumentHelp("The model folder, or a Hugging Face repo id in the local cache (default: $QWEN_AGENT_MODEL).",
                               valueName: "dir|repo"))
    var model: String?
    @Option(help: ArgumentHelp("Folder (or repo id) with the tokenizer files, when not the model's.", valueName: "dir|repo"))
    var tokenizer: String?
    @Argument(help: "The prompt.") var prompt: String
    @Option(name: .customLong("image"), help: ArgumentHelp("A PNG to put before the prompt text in the user turn (repeatable).", valueName: "file.png"))
    var images: [String] = []
    @Flag(help: "Feed the prompt as it is, without the chat template.") var raw = false
    @Flag(help: "Always take the most likely token (same as --temperature 0).") var greedy = false
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.6
    @Option(help: "Keep the k most likely tokens.") var topK: Int = 20
    @Option(help: "Keep the smallest set of tokens whose probability reaches p.") var topP: Float = 0.95
    @Option(help: "Subtract this from the logits of tokens already generated.") var presencePenalty: Float = 0
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 0
    @Option(help: "Most tokens to generate.") var maxNewTokens = 256
    @Option(help: "Most reasoning tokens before </think> is forced.") var thinkingBudget: Int?
    @Flag(help: "Print one JSON object with the generated token ids (tokens), the text (text) and the mode (precision, weights).")
    var json = false
    @Option(help: "Arithmetic: f32 (matches transformers float32) or bf16 (needs AVX512_BF16). Default: the fastest this CPU supports.",
            transform: oneOf(Qwen3VL.Precision.self))
    var precision: Qwen3VL.Precision = .fastest
    @Option(help: ArgumentHelp("Decoder and vision weights: " + weightsHelp), transform: oneOf(Qwen3VL.WeightFormat.self))
    var weights: Qwen3VL.WeightFormat = .fastest

    func validate() throws {
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be at least 1, not \(maxNewTokens)") }
        if !(temperature >= 0) || temperature.isInfinite {
            throw ValidationError("--temperature must be a number from 0 (greedy) up, not \(temperature)")
        }
        if topK < 1 { throw ValidationError("--top-k must be at least 1, not \(topK)") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be above 0 and at most 1, not \(topP)") }
        if !presencePenalty.isFinite { throw ValidationError("--presence-penalty must be a finite number, not \(presencePenalty)") }
        if let thinkingBudget, thinkingBudget < 0 { throw ValidationError("--thinking-budget must be 0 or more tokens, not \(thinkingBudget)") }
    }

    func run() throws {
        guard let model = model ?? ProcessInfo.processInfo.environment["QWEN_AGENT_MODEL"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            try fail("no model: give --model DIR (or a Hugging Face repo id), or set QWEN_AGENT_MODEL", status: ExitStatus.usage)
        }
        let folderURL = try ModelLocation.resolve(model)
        let tokenizerURL = try tokenizer.map { name throws(Failure) in try ModelLocation.resolve(name) }
        for path in images { try FileChecks.requireReadableFile(path, "--image") }
        chooseBLASKernels()
        let loaded: (model: Qwen3VL.TextModel, tokenizer: Qwen3VL.Tokenizer, template: Qwen3VL.ChatTemplate?)
        var visual: Qwen3VL.VisualInput?
        var grids: [Qwen3VL.Grid] = []
        do {
            let folder = try Qwen3VL.ModelFolder(contentsOf: folderURL)
            let toMake = weights.filesToMake(in: folderURL, withVision: !images.isEmpty)
            if !json && !toMake.isEmpty { announceQuantizing(folderURL, weights, files: toMake) }
            let tokens = try Qwen3VL.Tokenizer.load(folder: tokenizerURL ?? folderURL)
            loaded = (try Qwen3VL.TextModel(folder: folder, precision: precision, weights: weights), tokens, raw ? nil : try Qwen3VL.ChatTemplate.load(folder: folderURL))
            if !images.isEmpty {
                // Each image: processor → vision tower; their rows and DeepStack features are joined in order.
                let processor = Qwen3VL.ImageProcessor(config: folder.preprocessor)
                let tower = try Qwen3VL.VisionTower(folder: folder, precision: precision, weights: weights)
                var joined = Qwen3VL.VisualInput()
                for path in images {
                    let image = try PNG.read(from: URL(fileURLWithPath: path))
                    status("reading a \(image.width)×\(image.height) image")
                    let (pixels, grid) = processor.process(image)
                    let (features, deepstack) = tower.encode(pixelValues: pixels, grid: grid)
                    joined.append(features: features, deepstack: deepstack)
                    grids.append(grid)
                }
                visual = joined
            }
        } catch let error as Qwen3VL.TemplateError {
            try fail("\(error.message); give --raw to feed the prompt without a template", status: ExitStatus.dataError)
        } catch let error as Qwen3VL.TokenizerError where error.code == .missingFile && tokenizer == nil {
            try fail("\(error.message); give --tokenizer DIR for the folder that has them", status: ExitStatus.dataError)
        } catch let error as ImagingError {
            try fail(error.message, status: ExitStatus.dataError)
        } catch {
            try fail("cannot load the model: \(error)", status: ExitStatus.dataError)
        }
        let parts: [Qwen3VL.ChatTemplate.Part] = Array(repeating: .image, count: images.count) + [.text(prompt)]
        let rendered = loaded.template.map { $0.render([.init(role: "user", content: .parts(parts))], addGenerationPrompt: true) }
            ?? String(repeating: "<|vision_start|><|image_pad|><|vision_end|>", count: images.count) + prompt
        let text: String
        do { text = try Qwen3VL.expandImagePads(in: rendered, grids: grids) } catch { try fail(error.message, status: ExitStatus.dataError) }
        let input = loaded.tokenizer.encode(text)
        status("reading a prompt of \(input.count) tokens")
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = maxNewTokens
        options.temperature = greedy ? 0 : temperature
        options.topK = topK
        options.topP = topP
        options.presencePenalty = presencePenalty
        options.seed = seed
        options.thinkingBudget = thinkingBudget

        var decoder = Qwen3VL.Tokenizer.StreamDecoder(tokenizer: loaded.tokenizer)
        let started = ContinuousClock.now
        var firstToken: ContinuousClock.Instant?
        let tokens = Qwen3VL.Generator(model: loaded.model).generate(input, visual: visual, imageGrids: grids, options: options) { token in
            if firstToken == nil { firstToken = .now }
            if !json {
                print(decoder.append(token), terminator: "")
                fflush(nil)
            }
            return true
        }
        if json {
            let object: [String: Any] = ["tokens": tokens.map(Int.init), "text": loaded.tokenizer.decode(tokens),
                                         "precision": precision.rawValue, "weights": weights.rawValue]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(decoder.finish())
        }
        let prefill = (firstToken ?? .now) - started, decode = ContinuousClock.now - (firstToken ?? .now)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        FileHandle.standardError.write(Data(String(
            format: "prefill %d tokens at %.1f tokens/s; decode %d tokens at %.1f tokens/s; peak memory %.0f MB; OpenBLAS %@ kernels; %@ precision, %@ weights\n",
            input.count, Double(input.count) / max(prefill.seconds, 1e-9), max(tokens.count - 1, 0),
            Double(max(tokens.count - 1, 0)) / max(decode.seconds, 1e-9), Double(usage.ru_maxrss) / 1024, Qwen3VL.BLAS.coreName,
            precision.rawValue, weights.rawValue).utf8))
    }

    /// What the engine reads before the first token, on stderr (seconds on a CPU); not with --json, which scripts read.
    private func status(_ text: String) {
        if !json { FileHandle.standardError.write(Data("[\(text)…]\n".utf8)) }
    }
}

/// Says on stderr, before a load quantizes the checkpoint in `folder` (the first in a weight format) to
/// make `files`, why it takes longer than the loads after it, which map the saved result.
func announceQuantizing(_ folder: URL, _ weights: Qwen3VL.WeightFormat, files: [URL]) {
    let kept = FileManager.default.isWritableFile(atPath: folder.path)
        ? "saved there as \(files.map(\.lastPathComponent).joined(separator: " and ")), so later loads skip this"
        : "not saved, as \(folder.path) is read-only, so every load does this (--weights bf16 does not quantize)"
    FileHandle.standardError.write(Data("qwen-agent: quantizing \(folder.path) to \(weights.rawValue) weights; \(kept)\n".utf8))
}

/// Re-executes the CLI with the OpenBLAS kernels this CPU deserves (see `Qwen3VL.BLAS`).
func chooseBLASKernels() {
    Qwen3VL.BLAS.chooseKernels { FileHandle.standardError.write(Data("qwen-agent: \($0)\n".utf8)) }
}

/// Parses an option's value as one of an enum's raw values.
func oneOf<Choice: RawRepresentable & CaseIterable & SendableMetatype>(_: Choice.Type) -> @Sendable (String) throws -> Choice
where Choice.RawValue == String {
    { value in
        guard let choice = Choice(rawValue: value) else {
            throw ValidationError("'\(value)' is not one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }
}
