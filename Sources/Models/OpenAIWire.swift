import Foundation
import Imaging

// The chat-completions wire format, as vLLM, SGLang, llama.cpp's llama-server and Ollama speak it.

/// A request body. Settings left nil are omitted, so the server's own defaults (often the model's
/// `generation_config.json`) apply instead of OpenAI's.
struct ChatCompletionRequest: Encodable {
    struct Message: Encodable {
        let role: String
        let content: [Part]
    }

    enum Part: Encodable {
        case text(String)
        /// A `data:` URL, so the server needs no access to the files the images came from.
        case imageURL(String)

        private enum Keys: String, CodingKey { case type, text, imageURL = "image_url", url }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            switch self {
            case .text(let text):
                try container.encode("text", forKey: .type)
                try container.encode(text, forKey: .text)
            case .imageURL(let url):
                try container.encode("image_url", forKey: .type)
                var image = container.nestedContainer(keyedBy: Keys.self, forKey: .imageURL)
                try image.encode(url, forKey: .url)
            }
        }
    }

    let model: String
    let messages: [Message]
    let stream: Bool
    let temperature: Double?
    let topP: Double?
    /// Not in OpenAI's API; vLLM, SGLang, llama.cpp and Ollama accept it as an extra top-level field.
    let topK: Int?
    let maxTokens: Int?
    let presencePenalty: Double?
    let seed: UInt64?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed
        case topP = "top_p", topK = "top_k", maxTokens = "max_tokens", presencePenalty = "presence_penalty"
    }

    init(model: String, conversation: [ChatMessage], settings: GenerationSettings, stream: Bool) throws(ImagingError) {
        var messages: [Message] = []
        for message in conversation {
            var parts: [Part] = []
            for content in message.content {
                switch content {
                case .text(let text): parts.append(.text(text))
                case .image(let image):
                    let png = try PNG.encode(image)
                    parts.append(.imageURL("data:image/png;base64," + Data(png).base64EncodedString()))
                }
            }
            messages.append(Message(role: message.role.rawValue, content: parts))
        }
        self.model = model
        self.messages = messages
        self.stream = stream
        temperature = settings.temperature
        topP = settings.topP
        topK = settings.topK
        maxTokens = settings.maxNewTokens
        presencePenalty = settings.presencePenalty
        seed = settings.seed
    }
}

/// A streamed chunk (`choices[].delta`) or a whole reply (`choices[].message`).
struct ChatCompletionReply: Decodable {
    struct Choice: Decodable {
        let delta: Text?
        let message: Text?
        let finishReason: String?

        enum CodingKeys: String, CodingKey {
            case delta, message
            case finishReason = "finish_reason"
        }
    }

    /// Servers that run a reasoning parser put the thinking in a separate field: `reasoning_content`
    /// (vLLM before 0.11, SGLang, llama.cpp) or `reasoning` (newer vLLM, Ollama).
    struct Text: Decodable {
        let content: String?
        let reasoningContent: String?
        let reasoning: String?

        enum CodingKeys: String, CodingKey {
            case content, reasoning
            case reasoningContent = "reasoning_content"
        }

        var thinking: String? { reasoningContent ?? reasoning }
    }

    let choices: [Choice]?
}

/// The human-readable message in an error body: `{"error":{"message":…}}` (OpenAI, vLLM, SGLang,
/// llama.cpp, Ollama), `{"error":"…"}`, `{"message":…}` (older vLLM) or `{"detail":…}` (FastAPI).
func serverErrorMessage(in body: Data) -> String? {
    guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
    if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
    if let message = object["error"] as? String { return message }
    if let message = object["message"] as? String { return message }
    if let detail = object["detail"] as? String { return detail }
    return nil
}

/// Splits an event stream into lines however the network cuts it: a line, or a UTF-8 character, may
/// arrive in several pieces. Lines end with `\n` or `\r\n`.
struct LineSplitter {
    private var pending: [UInt8] = []
    /// A server that never sends a newline would otherwise grow this without bound.
    static let maximumLineLength = 16 << 20

    /// The lines completed by `data`; nil when a line grows past `maximumLineLength`.
    mutating func feed(_ data: Data) -> [String]? {
        var lines: [String] = []
        for byte in data {
            if byte == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
        return pending.count > Self.maximumLineLength ? nil : lines
    }

    /// The last line, if the stream ended without a newline after it.
    mutating func finish() -> String? {
        defer { pending = [] }
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

/// Turns deltas into the raw text a Qwen3-VL Thinking model writes, and tracks the thinking budget.
///
/// When the server sends the reasoning in its own field, the output is the reasoning, then
/// `\n</think>\n\n` when the answer starts, then the answer: the same text the model produced before
/// the server's reasoning parser split it, so one step parser reads every backend. A reply that
/// never leaves the reasoning gets no `</think>`, and the parser reports it as unterminated.
struct ReplyAssembler {
    static let thinkClose = "</think>"
    /// Where the reasoning ends when a server reports it separately, as Qwen3's chat template writes it.
    static let reasoningEnd = "\n</think>\n\n"

    /// Chunks of reasoning allowed before `</think>`; nil for no limit.
    let thinkingBudget: Int?
    /// Whether any text went to the caller: after that a retry would repeat it.
    private(set) var yieldedText = false
    private(set) var thinkingChunks = 0
    private var thinkingOver = false
    private var inReasoningField = false
    /// The end of the text so far, to find a `</think>` split across chunks.
    private var tail = ""

    init(thinkingBudget: Int?) {
        self.thinkingBudget = thinkingBudget
    }

    /// Whether the reasoning used up its budget without reaching `</think>`.
    var budgetSpent: Bool {
        guard let thinkingBudget, !thinkingOver else { return false }
        return thinkingChunks >= thinkingBudget
    }

    /// The text to pass on for one delta (or one whole reply).
    mutating func add(reasoning: String?, content: String?) -> String {
        var text = ""
        if let reasoning, !reasoning.isEmpty {
            text += reasoning
            inReasoningField = true
        }
        if let content, !content.isEmpty {
            if inReasoningField {
                text += Self.reasoningEnd
                inReasoningField = false
            }
            text += content
        }
        guard !text.isEmpty else { return "" }
        yieldedText = true
        if !thinkingOver {
            let window = tail + text
            if window.contains(Self.thinkClose) {
                thinkingOver = true
            } else {
                thinkingChunks += 1
                tail = String(window.suffix(Self.thinkClose.count - 1))
            }
        }
        return text
    }
}
