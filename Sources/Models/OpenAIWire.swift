import Foundation
import Imaging
import Qwen3VLPrompt

// The chat-completions wire format, as vLLM, SGLang, llama.cpp's llama-server and Ollama speak it.

/// A request body. Settings left nil are omitted, so the server's own defaults (often the model's
/// `generation_config.json`) apply instead of OpenAI's.
struct ChatCompletionRequest: Encodable {
    struct Message: Encodable {
        let role: String
        let content: Content
    }

    /// Parts for user and system turns; plain text for an assistant turn, which every server takes and
    /// which `continue_final_message` finds again in the rendered prompt.
    enum Content: Encodable {
        case parts([Part])
        case text(String)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .parts(let parts): try container.encode(parts)
            case .text(let text): try container.encode(text)
            }
        }
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

    struct StreamOptions: Encodable {
        let includeUsage = true
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    let model: String
    private(set) var messages: [Message]
    let stream: Bool
    /// Asks for the token counts in a last chunk.
    let streamOptions: StreamOptions?
    let temperature: Double?
    let topP: Double?
    /// Not in OpenAI's API; vLLM, SGLang and llama.cpp accept it as an extra top-level field (Ollama ignores it).
    let topK: Int?
    private(set) var maxTokens: Int?
    let presencePenalty: Double?
    let seed: UInt64?
    /// vLLM's and SGLang's way to extend the last assistant message instead of starting a new one.
    private(set) var continueFinalMessage: Bool?
    private(set) var addGenerationPrompt: Bool?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed
        case streamOptions = "stream_options", topP = "top_p", topK = "top_k", maxTokens = "max_tokens",
             presencePenalty = "presence_penalty", continueFinalMessage = "continue_final_message",
             addGenerationPrompt = "add_generation_prompt"
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
            let texts = parts.compactMap { if case .text(let text) = $0 { text } else { nil } }
            let plain = message.role == .assistant && texts.count == parts.count
            messages.append(Message(role: message.role.rawValue, content: plain ? .text(texts.joined()) : .parts(parts)))
        }
        self.model = model
        self.messages = messages
        self.stream = stream
        streamOptions = stream ? StreamOptions() : nil
        temperature = settings.temperature
        topP = settings.topP
        topK = settings.topK
        maxTokens = settings.maxNewTokens
        presencePenalty = settings.presencePenalty
        seed = settings.seed
    }

    /// The same request, asking the server to go on writing `start` as the assistant's reply, with
    /// `used` of the reply's tokens already spent.
    func continuing(_ start: String, used: Int?) -> ChatCompletionRequest {
        var request = self
        request.messages.append(Message(role: ChatMessage.Role.assistant.rawValue, content: .text(start)))
        request.continueFinalMessage = true
        request.addGenerationPrompt = false
        if let maxTokens, let used { request.maxTokens = max(1, maxTokens - used) }
        return request
    }
}

/// A streamed chunk (`choices[].delta`) or a whole reply (`choices[].message`), and the token counts
/// that come with the last chunk or the whole reply.
struct ChatCompletionReply: Decodable {
    struct Choice: Decodable {
        /// `delta` of a chunk or `message` of a whole reply: the same fields.
        var text: Message?
        let finishReason: String?

        enum CodingKeys: String, CodingKey {
            case delta, message
            case finishReason = "finish_reason"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            text = try container.decodeIfPresent(Message.self, forKey: .delta)
                ?? container.decodeIfPresent(Message.self, forKey: .message)
            finishReason = try container.decodeIfPresent(String.self, forKey: .finishReason)
        }
    }

    /// Servers that run a reasoning parser put the thinking in a separate field: `reasoning_content`
    /// (vLLM before 0.11, SGLang, llama.cpp) or `reasoning` (newer vLLM, Ollama). Servers that parse tool
    /// calls out of the text (Ollama always; vLLM and llama.cpp when the request has tools) send them
    /// in `tool_calls`.
    struct Message: Decodable {
        let content: String?
        let reasoningContent: String?
        let reasoning: String?
        var toolCalls: [ToolCall]?

        enum CodingKeys: String, CodingKey {
            case content, reasoning
            case reasoningContent = "reasoning_content", toolCalls = "tool_calls"
        }

        var thinking: String? { reasoningContent ?? reasoning }
    }

    /// A tool call, or (streamed) a piece of one: the pieces of one call share its `index`.
    struct ToolCall: Decodable {
        struct Function: Decodable {
            let name: String?
            var arguments: Arguments?
        }

        /// A JSON text, often sent in pieces; a few servers send the object itself.
        enum Arguments: Decodable {
            case text(String)
            /// An object's JSON text, keys in the server's order: `ChatCompletionReply.decode` fills it in.
            case object(String)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                self = (try? container.decode(String.self)).map { .text($0) } ?? .object("{}")
            }
        }

        let index: Int?
        var function: Function?

        var hasObjectArguments: Bool { if case .object? = function?.arguments { true } else { false } }
    }

    struct Usage: Decodable {
        let promptTokens: Int?
        let completionTokens: Int?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
        }
    }

    var choices: [Choice]?
    let usage: Usage?

    /// Decodes one chunk or reply; tool-call arguments sent as an object get their JSON text with the
    /// keys in the server's order, which Foundation's decoders do not keep.
    static func decode(_ json: Data) throws -> ChatCompletionReply {
        var reply = try JSONDecoder().decode(ChatCompletionReply.self, from: json)
        guard let calls = reply.choices?.first?.text?.toolCalls, calls.contains(where: \.hasObjectArguments),
              let ordered = Qwen3VL.OrderedJSON(parsing: String(decoding: json, as: UTF8.self)),
              case .array(let choices)? = ordered["choices"], let choice = choices.first,
              case .array(let orderedCalls)? = (choice["delta"] ?? choice["message"])?["tool_calls"]
        else { return reply }
        for (index, orderedCall) in zip(calls.indices, orderedCalls) where calls[index].hasObjectArguments {
            if let object = orderedCall["function"]?["arguments"] {
                reply.choices?[0].text?.toolCalls?[index].function?.arguments = .object(object.json)
            }
        }
        return reply
    }
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

