public import Foundation
import Imaging
public import Logging
public import Models
public import Qwen3VL
public import Qwen3VLPrompt
import Synchronization

/// The in-process Qwen3-VL engine as a ``VisionLanguageModel``: no server, no Python.
///
/// A conversation is rendered with the model folder's own chat template; each image goes through
/// the image processor and the vision tower and takes its rows at its `<|image_pad|>` place.
///
/// Consecutive calls share work: the KV cache of the prefix a conversation has in common with the
/// previous one (system prompt, task, earlier turns) is reused, and an image seen in the previous
/// call is not encoded again. Calls run one at a time.
///
/// With a folder for prompt files, a system turn's keys and values are saved there after the first
/// call that computes them, and a call whose system turn the cache does not hold (the first call of
/// a later process with the same agent profile, or a server's switch to another system prompt)
/// starts from the file; ``ModelCall/savedTokens`` says how many it took.
public final class EmbeddedModel: VisionLanguageModel {
    public let identity: ModelIdentity
    private let text: Qwen3VL.TextModel
    private let vision: Qwen3VL.VisionTower
    private let tokenizer: Qwen3VL.Tokenizer
    private let template: Qwen3VL.ChatTemplate
    private let processor: Qwen3VL.ImageProcessor
    private let logger: Logger
    private let reuse: Mutex<Reuse>
    /// The prompt cache's size after the latest call, readable while a call holds `reuse`.
    private let cacheBytes = Atomic<Int>(0)
    /// Where system turns' keys and values are saved between processes (nil: they are not).
    private let promptFiles: URL?
    /// What a prompt file must have been computed by: these weights in this mode, by this build.
    private let stamp: String
    /// Prompt files kept in `promptFiles`; older ones are removed (a 2B model's system turn takes about 126 MB).
    public static let promptFilesKept = 4

    /// What the previous call leaves for the next one.
    private struct Reuse: ~Copyable {
        var promptCache: Qwen3VL.PromptCache
        /// The vision tower's output for the images of the previous call, by the hash of their pixels.
        var features: [Int: EncodedImage] = [:]
        /// The processor's output buffer, reused from image to image (a screenshot's tensor is tens of MB).
        var pixelValues: [Float] = []
    }

    /// Loads a Hugging Face Qwen3-VL folder; `tokenizerFolder` when its tokenizer files live elsewhere.
    /// `minPixels`/`maxPixels` override the folder's preprocessor limits (an agent profile's image limits).
    /// `precision` and `weights` choose the engine's arithmetic (default: the fastest this CPU
    /// supports for each). `quantizing` hears which files this load makes, before it quantizes the
    /// checkpoint to make them (the first load in a weight format; see ``Qwen3VL/WeightFormat/filesToMake(in:withVision:)``).
    /// `promptFiles` is the folder where system turns' keys and values are kept between processes (nil: nowhere).
    public init(folder: URL, tokenizerFolder: URL? = nil, minPixels: Int? = nil, maxPixels: Int? = nil,
                precision: Qwen3VL.Precision = .fastest, weights: Qwen3VL.WeightFormat = .fastest, promptFiles: URL? = nil,
                logger: Logger, quantizing: (_ files: [URL]) -> Void = { _ in }) throws(ModelError) {
        do {
            let model = try Qwen3VL.ModelFolder(contentsOf: folder)
            let toMake = weights.filesToMake(in: folder)
            if !toMake.isEmpty { quantizing(toMake) }
            text = try Qwen3VL.TextModel(folder: model, precision: precision, weights: weights)
            vision = try Qwen3VL.VisionTower(folder: model, precision: precision, weights: weights)
            tokenizer = try Qwen3VL.Tokenizer.load(folder: tokenizerFolder ?? folder)
            template = try Self.template(in: folder, tokenizerFolder: tokenizerFolder)
            processor = Qwen3VL.ImageProcessor(config: model.preprocessor, minPixels: minPixels, maxPixels: maxPixels)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.badResponse, "cannot load the model folder \(folder.path): \(error)")
        }
        reuse = Mutex(Reuse(promptCache: Qwen3VL.PromptCache(model: text)))
        let mode = "\(precision.rawValue) arithmetic, \(weights.rawValue) weights"
        self.promptFiles = promptFiles
        stamp = Self.stamp(folder: folder, mode: mode)
        identity = ModelIdentity(kind: .embedded, name: folder.path, mode: mode)
        self.logger = logger
        logger.info("embedded Qwen3-VL ready", metadata: ["folder": "\(folder.path)", "template": "\(template.variant.rawValue)",
                                                          "precision": "\(precision.rawValue)", "weights": "\(weights.rawValue)",
                                                          "openblas": "\(Qwen3VL.BLAS.coreName)"])
    }

    /// Whether the folder holds a Thinking model, read from its template alone (the weights stay on disk).
    public static func isThinking(folder: URL, tokenizerFolder: URL? = nil) throws(ModelError) -> Bool {
        do {
            return try template(in: folder, tokenizerFolder: tokenizerFolder).variant == .thinking
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.badResponse, "cannot read the chat template of \(folder.path): \(error)")
        }
    }

    /// The folder's template; a folder without one (the test checkpoints) falls back to the tokenizer folder's.
    private static func template(in folder: URL, tokenizerFolder: URL?) throws -> Qwen3VL.ChatTemplate {
        do {
            return try Qwen3VL.ChatTemplate.load(folder: folder)
        } catch {
            guard let tokenizerFolder else { throw ModelError(.badResponse, error.message) }
            do { return try Qwen3VL.ChatTemplate.load(folder: tokenizerFolder) } catch {
                throw ModelError(.badResponse, "\(folder.path) and \(tokenizerFolder.path) have no Qwen3-VL chat template")
            }
        }
    }

    public var kvCacheBytes: Int? { cacheBytes.load(ordering: .relaxed) }

    /// Whether the folder's template is the Thinking one, to warn when a profile expects the other.
    public var isThinking: Bool { template.variant == .thinking }

    /// Before the first token the stream says what the engine reads (on a CPU, a screenshot takes
    /// seconds); after the last, what the reply cost and what it took from the previous call.
    public func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        let (stream, output) = AsyncThrowingStream.makeStream(of: ModelEvent.self)
        let stop = StopFlag()
        // Minutes of synchronous arithmetic: on a thread of its own, not one of the concurrency
        // pool's few threads, which would starve everything else awaiting in the process.
        let job = Thread { [self] in
            reuse.withLock { reuse in
                var images = ImageInput()
                for case .image(let image) in conversation.flatMap(\.content) {
                    let key = image.hashValue // hashes the pixels once; the prompt cache compares images by it too
                    if let known = images.seen[key] ?? reuse.features[key] {
                        images.add(key, encoded: known)
                    } else {
                        output.yield(.status("reading a \(image.width)×\(image.height) screenshot"))
                        images.add(key, encoded: encode(image, buffer: &reuse.pixelValues))
                        images.encoded += 1
                    }
                }
                let messages = conversation.map(\.templateMessage)
                reuse.features = images.seen
                let promptText: String
                do throws(Qwen3VL.TemplateError) {
                    promptText = try Qwen3VL.expandImagePads(in: template.render(messages, addGenerationPrompt: true), grids: images.grids)
                } catch {
                    return output.finish(throwing: ModelError(.rejected, error.message))
                }
                let prompt = tokenizer.encode(promptText)
                let systemTurn = promptFiles == nil ? nil : systemTurnLength(prompt)
                var fromFile = 0
                if let systemTurn, !reuse.promptCache.begins(with: prompt[..<systemTurn]) {
                    fromFile = loadPromptFile(prompt[..<systemTurn], into: reuse.promptCache)
                }
                output.yield(.status("reading a prompt of \(prompt.count) tokens"))
                var decoder = Qwen3VL.Tokenizer.StreamDecoder(tokenizer: tokenizer)
                let generated = Qwen3VL.Generator(model: text).generate(
                    prompt, visual: images.grids.isEmpty ? nil : images.visual, imageGrids: images.grids, imageKeys: images.keys,
                    options: Self.samplingOptions(settings), promptCache: reuse.promptCache
                ) { token in
                    let piece = decoder.append(token)
                    if !piece.isEmpty { output.yield(.text(piece)) }
                    return !stop.isSet
                }
                logger.debug("embedded prompt", metadata: [
                    "tokens": "\(prompt.count)", "reused": "\(reuse.promptCache.reusedTokens)", "images encoded": "\(images.encoded)/\(images.keys.count)",
                ])
                cacheBytes.store(reuse.promptCache.kvCacheBytes, ordering: .relaxed)
                let rest = decoder.finish()
                if !rest.isEmpty { output.yield(.text(rest)) }
                let reused = reuse.promptCache.reusedTokens
                output.yield(.cost(ModelCall(promptTokens: prompt.count, reusedTokens: fromFile > 0 ? nil : reused,
                                             savedTokens: fromFile > 0 ? reused : nil, completionTokens: generated.count,
                                             images: images.keys.count, encodedImages: images.encoded, finish: Self.finish(generated, settings))))
                // Before the stream ends: a command that exits once it has the reply must not cut the save short.
                if let systemTurn, fromFile == 0 { savePromptFile(prompt[..<systemTurn], from: reuse.promptCache) }
            }
            output.finish()
        }
        job.stackSize = 8 << 20
        job.start()
        output.onTermination = { _ in stop.set() }
        return stream
    }

    // MARK: Prompt files

    /// The tokens of the prompt's opening system turn, through its `<|im_end|>` (nil: it opens with none,
    /// or the turn holds an image, whose rows come from the vision tower, not from the tokens).
    private func systemTurnLength(_ prompt: [Int32]) -> Int? {
        guard prompt.first == Qwen3VL.SpecialToken.imStart, let end = prompt.firstIndex(of: Qwen3VL.SpecialToken.imEnd),
              end + 1 < prompt.count, !prompt[..<end].contains(text.imagePad) else { return nil }
        return end + 1
    }

    /// The saved keys and values of `systemTurn`, when a file holds them; the positions taken. A file
    /// that is there but cannot be used (broken, or another's under the same name) is removed, so this
    /// call's save replaces it.
    private func loadPromptFile(_ systemTurn: ArraySlice<Int32>, into cache: Qwen3VL.PromptCache) -> Int {
        guard let file = promptFile(for: systemTurn), FileManager.default.fileExists(atPath: file.path) else { return 0 }
        do {
            let loaded = try cache.load(from: file, stamp: stamp, tokens: systemTurn)
            guard loaded > 0 else {
                logger.warning("the prompt file \(file.path) is not this model's system prompt; it is computed again and the file replaced")
                try? FileManager.default.removeItem(at: file)
                return 0
            }
            // Used files count as new: pruning removes the ones no run has wanted for longest.
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: file.path)
            logger.info("prompt file", metadata: ["file": "\(file.path)", "tokens": "\(loaded)"])
            return loaded
        } catch {
            logger.warning("cannot read the prompt file \(file.path): \(error.localizedDescription); the system prompt is computed instead")
            return 0
        }
    }

    private func promptFile(for systemTurn: ArraySlice<Int32>) -> URL? {
        promptFiles?.appendingPathComponent(Qwen3VL.PromptFile.name(stamp: stamp, tokens: systemTurn))
    }

    /// Saves `systemTurn`'s keys and values (the cache's first positions) unless a file holds them
    /// already, then keeps only the newest ``promptFilesKept`` files.
    private func savePromptFile(_ systemTurn: ArraySlice<Int32>, from cache: Qwen3VL.PromptCache) {
        guard let promptFiles, let file = promptFile(for: systemTurn), !FileManager.default.fileExists(atPath: file.path) else { return }
        do {
            try FileManager.default.createDirectory(at: promptFiles, withIntermediateDirectories: true)
            try cache.save(first: systemTurn.count, to: file, stamp: stamp)
            logger.info("saved a prompt file", metadata: ["file": "\(file.path)", "tokens": "\(systemTurn.count)"])
            let keys: [URLResourceKey] = [.contentModificationDateKey]
            let files = try FileManager.default.contentsOfDirectory(at: promptFiles, includingPropertiesForKeys: keys)
                .filter { $0.pathExtension == "kv" }
                .map { ($0, (try? $0.resourceValues(forKeys: Set(keys)).contentModificationDate) ?? .distantPast) }
                .sorted { $0.1 > $1.1 }
            for (old, _) in files.dropFirst(Self.promptFilesKept) { try? FileManager.default.removeItem(at: old) }
        } catch {
            logger.warning("cannot save the prompt file \(file.path): \(error.localizedDescription); later runs compute the system prompt again")
        }
    }

    /// The weights' files (name, size, time), the mode and this build's executable: a prompt file
    /// computed by anything else is not used.
    private static func stamp(folder: URL, mode: String) -> String {
        func describe(_ url: URL) -> String {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: url.path)) ?? [:]
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
            let time = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(url.lastPathComponent) \(size) \(time)"
        }
        let weightFiles = ((try? FileManager.default.contentsOfDirectory(at: folder.resolvingSymlinksInPath(), includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "safetensors" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return ([folder.resolvingSymlinksInPath().path, mode, describe(executable)]
                + weightFiles.map(describe)).joined(separator: "\n")
    }

    /// An image through the processor and the vision tower.
    private func encode(_ image: RGBImage, buffer: inout [Float]) -> EncodedImage {
        let grid = processor.process(image, into: &buffer)
        let (features, deepstack) = vision.encode(pixelValues: buffer, grid: grid)
        return EncodedImage(visual: Qwen3VL.VisualInput(embeddings: features, deepstack: deepstack), grid: grid)
    }

    /// Reply tokens when the settings name no limit.
    static let defaultMaxNewTokens = 2048

    /// How a reply ended: at its token limit, with the reasoning closed at its budget, or by the model.
    private static func finish(_ tokens: [Int32], _ settings: GenerationSettings) -> ModelCall.Finish {
        if let budget = settings.maxThinkingTokens, tokens.firstIndex(of: Qwen3VL.SpecialToken.thinkEnd) == budget { return .thinkingClosed }
        return tokens.count >= (settings.maxNewTokens ?? defaultMaxNewTokens) ? .length : .stop
    }

    private static func samplingOptions(_ settings: GenerationSettings) -> Qwen3VL.SamplingOptions {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = settings.maxNewTokens ?? defaultMaxNewTokens
        options.temperature = settings.temperature.map(Float.init)
        options.topK = settings.topK
        options.topP = settings.topP.map(Float.init)
        options.presencePenalty = Float(settings.presencePenalty ?? 0)
        options.seed = settings.seed ?? 0
        options.thinkingBudget = settings.maxThinkingTokens
        return options
    }
}

/// Set when the consumer of a reply goes away; the generating thread checks it after each token.
private final class StopFlag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}

/// The vision tower's output for one image, with its patch grid.
private struct EncodedImage {
    let visual: Qwen3VL.VisualInput
    let grid: Qwen3VL.Grid
}

/// The images of a conversation in order: their rows joined, grids and identities.
private struct ImageInput {
    var visual = Qwen3VL.VisualInput()
    var grids: [Qwen3VL.Grid] = []
    /// Each image's hash of its pixels, in order.
    var keys: [Int] = []
    var seen: [Int: EncodedImage] = [:]
    /// Images that went through the vision tower in this call.
    var encoded = 0

    mutating func add(_ key: Int, encoded: EncodedImage) {
        seen[key] = encoded
        visual.append(features: encoded.visual.embeddings, deepstack: encoded.visual.deepstack)
        grids.append(encoded.grid)
        keys.append(key)
    }
}

extension ChatMessage {
    /// The message as Qwen3-VL's chat template takes it: text parts, and an image placeholder where
    /// each image is (the images themselves go to the vision tower, in the same order).
    public var templateMessage: Qwen3VL.ChatTemplate.Message {
        Qwen3VL.ChatTemplate.Message(role: role.rawValue, content: .parts(content.map { part in
            switch part {
            case .text(let text): .text(text)
            case .image: .image
            }
        }))
    }
}
