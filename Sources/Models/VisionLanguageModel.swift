public import Imaging

/// One message of a conversation with a vision-language model.
public struct ChatMessage: Sendable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    /// A piece of a message, in order: text, or an image placed where it appears.
    public enum Content: Sendable {
        case text(String)
        case image(RGBImage)
    }

    public var role: Role
    public var content: [Content]

    public init(role: Role, content: [Content]) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: [.text(text)]) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: [.text(text)]) }
}

/// How to sample. Nil leaves a setting to the backend's default.
public struct GenerationSettings: Sendable, Equatable, Codable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var presencePenalty: Double?
    /// Tokens of the whole reply, reasoning included.
    public var maxNewTokens: Int?
    /// Tokens the reasoning may use before `</think>`; a backend that cannot enforce it stops the reply there.
    public var maxThinkingTokens: Int?
    public var seed: UInt64?

    public init(temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, presencePenalty: Double? = nil,
                maxNewTokens: Int? = nil, maxThinkingTokens: Int? = nil, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.presencePenalty = presencePenalty
        self.maxNewTokens = maxNewTokens
        self.maxThinkingTokens = maxThinkingTokens
        self.seed = seed
    }
}

/// Which model answered: recorded with every step so a session never passes a script off as a model.
public struct ModelIdentity: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// The in-process Qwen3-VL engine.
        case embedded
        /// A model behind an OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp, Ollama).
        case served
        /// Replayed responses from a transcript: not a model.
        case scripted
    }

    public let kind: Kind
    /// The model name, endpoint or transcript path.
    public let name: String
    /// How it runs, when that is ours to choose: the embedded engine's arithmetic and weight format.
    public let mode: String?

    public init(kind: Kind, name: String, mode: String? = nil) {
        self.kind = kind
        self.name = name
        self.mode = mode
    }

    public var description: String { "\(kind.rawValue): \(name)" + (mode.map { " (\($0))" } ?? "") }
}

/// What a model's reply stream carries, in order.
public enum ModelEvent: Sendable, Equatable {
    /// The next piece of the reply as the model wrote it: reasoning first (closed by `</think>` for a
    /// Thinking model), then the answer with its tool calls.
    case text(String)
    /// What the backend is doing while no text arrives yet ("reading a 1280×720 screenshot",
    /// "waiting for the server"), in a few words.
    case status(String)
    /// What the reply cost, when the backend knows; sent once, after the last text.
    case cost(ModelCall)
}

/// What one reply cost: the prompt, how much of it the backend could reuse, the reply's length, and
/// how the reply ended.
public struct ModelCall: Sendable, Equatable, Codable, CustomStringConvertible {
    /// How a reply ended.
    public enum Finish: String, Sendable, Equatable, Codable {
        /// The model ended it.
        case stop
        /// It reached the reply's token limit (`maxNewTokens`).
        case length
        /// The reasoning reached `maxThinkingTokens`; it was closed with `</think>` and the model then
        /// wrote its answer (a served model: the server continued the reply).
        case thinkingClosed
        /// The reasoning reached `maxThinkingTokens` and could not be closed (the server cannot
        /// continue a reply; vLLM and SGLang can): the reply ends inside the reasoning.
        case thinkingCut
    }

    public var promptTokens: Int?
    /// Prompt tokens taken from the previous call's cache (embedded engine).
    public var reusedTokens: Int?
    /// Prompt tokens taken from a file an earlier run saved (embedded engine: the system prompt).
    public var savedTokens: Int?
    public var completionTokens: Int?
    /// Images in the conversation, and how many of them were encoded for this call.
    public var images: Int?
    public var encodedImages: Int?
    public var finish: Finish?

    public init(promptTokens: Int? = nil, reusedTokens: Int? = nil, savedTokens: Int? = nil, completionTokens: Int? = nil,
                images: Int? = nil, encodedImages: Int? = nil, finish: Finish? = nil) {
        self.promptTokens = promptTokens
        self.reusedTokens = reusedTokens
        self.savedTokens = savedTokens
        self.completionTokens = completionTokens
        self.images = images
        self.encodedImages = encodedImages
        self.finish = finish
    }

    public var description: String {
        var parts: [String] = []
        if let promptTokens {
            parts.append("\(promptTokens) prompt tokens" + (reusedTokens.map { ", \($0) of them from the previous step" } ?? "")
                         + (savedTokens.map { ", \($0) of them saved by an earlier run" } ?? ""))
        }
        if let completionTokens { parts.append("\(completionTokens) reply tokens") }
        if let images {
            let read = encodedImages.map { "\($0) of \(images)" } ?? "\(images)"
            parts.append("\(read) screenshot\(images == 1 ? "" : "s") read")
        }
        switch finish {
        case .length?: parts.append("stopped at the reply's token limit")
        case .thinkingClosed?: parts.append("reasoning closed at its budget")
        case .thinkingCut?: parts.append("reasoning cut at its budget (the server cannot continue a reply)")
        case .stop?, nil: break
        }
        return parts.joined(separator: "; ")
    }
}

/// A model that reads a conversation of text and images and streams its reply back.
///
/// `generate` returns at once; events arrive on the stream as they are produced. Cancelling the task
/// that iterates the stream stops generation (and closes the HTTP request, for a served model).
public protocol VisionLanguageModel: Sendable {
    var identity: ModelIdentity { get }
    /// Bytes the model's KV cache holds in this process now (nil: it keeps none here, e.g. a served model).
    var kvCacheBytes: Int? { get }
    func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error>
}

extension VisionLanguageModel {
    public var kvCacheBytes: Int? { nil }

    /// The reply's text only, for callers that do not show progress.
    public func reply(to conversation: [ChatMessage], settings: GenerationSettings) async throws -> String {
        var text = ""
        for try await event in generate(conversation, settings: settings) {
            if case .text(let piece) = event { text += piece }
        }
        return text
    }
}

/// An error from a model backend, in one line a person can act on.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The transcript is used up, unreadable, or the server's answer is not what the protocol says.
        public static let badResponse = Code(name: "bad response")
        /// The server refused the request (4xx): wrong model name, bad key, request too large.
        public static let rejected = Code(name: "rejected")
        /// The server could not be reached or kept failing (connection, 429, 5xx) after the retries.
        public static let unavailable = Code(name: "unavailable")
        public static let timedOut = Code(name: "timed out")
        public static let exhausted = Code(name: "transcript exhausted")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
