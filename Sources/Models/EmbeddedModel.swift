public import Foundation
import Imaging
public import Logging
public import Qwen3VL

/// The in-process Qwen3-VL engine as a ``VisionLanguageModel``: no server, no Python.
///
/// A conversation is rendered with the model folder's own chat template; each image goes through
/// the image processor and the vision tower and takes its rows at its `<|image_pad|>` place.
public final class EmbeddedModel: VisionLanguageModel {
    public let identity: ModelIdentity
    private let text: Qwen3VL.TextModel
    private let vision: Qwen3VL.VisionTower
    private let tokenizer: Qwen3VL.Tokenizer
    private let template: Qwen3VL.ChatTemplate
    private let processor: Qwen3VL.ImageProcessor
    private let logger: Logger

    /// Loads a Hugging Face Qwen3-VL folder; `tokenizerFolder` when its tokenizer files live elsewhere.
    /// `minPixels`/`maxPixels` override the folder's preprocessor limits (an agent profile's image limits).
    public init(folder: URL, tokenizerFolder: URL? = nil, minPixels: Int? = nil, maxPixels: Int? = nil, logger: Logger) throws(ModelError) {
        do {
            let model = try Qwen3VL.ModelFolder(contentsOf: folder)
            text = try Qwen3VL.TextModel(folder: model)
            vision = try Qwen3VL.VisionTower(folder: model)
            tokenizer = try Qwen3VL.Tokenizer.load(folder: tokenizerFolder ?? folder)
            template = try Self.template(in: folder, tokenizerFolder: tokenizerFolder)
            processor = Qwen3VL.ImageProcessor(config: model.preprocessor, minPixels: minPixels, maxPixels: maxPixels)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.badResponse, "cannot load the model folder \(folder.path): \(error)")
        }
        identity = ModelIdentity(kind: .embedded, name: folder.path)
        self.logger = logger
        logger.info("embedded Qwen3-VL ready", metadata: ["folder": "\(folder.path)", "template": "\(template.variant.rawValue)",
                                                          "openblas": "\(Qwen3VL.BLAS.coreName)"])
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

    /// Whether the folder's template is the Thinking one, to warn when a profile expects the other.
    public var isThinking: Bool { template.variant == .thinking }

    public func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<String, any Error> {
        let (stream, output) = AsyncThrowingStream.makeStream(of: String.self)
        let job = Task.detached { [self] in
            var grids: [(t: Int, h: Int, w: Int)] = []
            var visual = Qwen3VL.VisualInput()
            let messages = conversation.map { message in
                Qwen3VL.ChatTemplate.Message(role: message.role.rawValue, content: .parts(message.content.map { part in
                    switch part {
                    case .text(let text): return .text(text)
                    case .image(let image):
                        let (pixels, grid) = processor.process(image)
                        let (features, deepstack) = vision.encode(pixelValues: pixels, grid: grid)
                        visual.append(features: features, deepstack: deepstack)
                        grids.append(grid)
                        return .image
                    }
                }))
            }
            let prompt = Qwen3VL.expandImagePads(in: template.render(messages, addGenerationPrompt: true), grids: grids)
            var options = Qwen3VL.SamplingOptions()
            options.maxNewTokens = settings.maxNewTokens ?? 2048
            options.temperature = settings.temperature.map(Float.init)
            options.topK = settings.topK
            options.topP = settings.topP.map(Float.init)
            options.presencePenalty = Float(settings.presencePenalty ?? 0)
            options.seed = settings.seed ?? 0
            options.thinkingBudget = settings.maxThinkingTokens
            var decoder = Qwen3VL.Tokenizer.StreamDecoder(tokenizer: tokenizer)
            _ = Qwen3VL.Generator(model: text).generate(
                tokenizer.encode(prompt), visual: grids.isEmpty ? nil : visual, imageGrids: grids, options: options
            ) { token in
                let piece = decoder.append(token)
                if !piece.isEmpty { output.yield(piece) }
                return !Task.isCancelled
            }
            let rest = decoder.finish()
            if !rest.isEmpty { output.yield(rest) }
            output.finish()
        }
        output.onTermination = { _ in job.cancel() }
        return stream
    }
}
