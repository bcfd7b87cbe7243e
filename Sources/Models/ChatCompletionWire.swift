import Foundation

// The chat-completions wire format, as OpenAI, vLLM, SGLang, llama.cpp's llama-server and Ollama speak
// it, both ways: qwen-agent's client (OpenAIWire.swift) writes requests and reads replies, `serve`
// (Sources/Serve) reads requests and writes replies. Fields left nil are not written, so a client's
// request leaves the server's defaults in place and a reply carries only what it has.

/// A `POST /v1/chat/completions` body. Unknown fields are ignored when read, as the common servers do.
package struct ChatCompletionRequest: Codable, Sendable {
    package struct Message: Codable, Sendable {
        package var role: String
        package var content: Content?

        package init(role: String, content: Content?) {
            self.role = role
            self.content = content
        }
    }

    /// A plain string, or parts (text and images).
    package enum Content: Codable, Sendable {
        case text(String)
        case parts([Part])

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .parts(try container.decode([Part].self))
            }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .parts(let parts): try container.encode(parts)
            case .text(let text): try container.encode(text)
            }
        }
    }

    /// One part of a message: `{"type": "text", "text": …}`, `{"type": "image_url", "image_url": {"url": …}}`,
    /// or an upload, `{"type": "file", "file": {"file_id": …}}`.
    package enum Part: Codable, Sendable {
        case text(String)
        /// nil: the part had no `image_url` (the server says so).
        case imageURL(String?)
        /// nil: the part had no `file.file_id`.
        case file(id: String?)
        /// A type neither side knows; only read.
        case other(type: String)

        private enum Keys: String, CodingKey { case type, text, imageURL = "image_url", url, file, fileID = "file_id" }
        private struct ImageURL: Decodable { let url: String }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            switch try container.decode(String.self, forKey: .type) {
            case "text": self = .text(try container.decodeIfPresent(String.self, forKey: .text) ?? "")
            case "image_url": self = .imageURL(try container.decodeIfPresent(ImageURL.self, forKey: .imageURL)?.url)
            case "file":
                let file = try container.contains(.file) ? container.nestedContainer(keyedBy: Keys.self, forKey: .file) : nil
                self = .file(id: try file?.decodeIfPresent(String.self, forKey: .fileID))
            case let type: self = .other(type: type)
            }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            switch self {
            case .text(let text):
                try container.encode("text", forKey: .type)
                try container.encode(text, forKey: .text)
            case .imageURL(let url):
                try container.encode("image_url", forKey: .type)
                if let url {
                    var image = container.nestedContainer(keyedBy: Keys.self, forKey: .imageURL)
                    try image.encode(url, forKey: .url)
                }
            case .file(let id):
                try container.encode("file", forKey: .type)
                var file = container.nestedContainer(keyedBy: Keys.self, forKey: .file)
                try file.encodeIfPresent(id, forKey: .fileID)
            case .other(let type):
                try container.encode(type, forKey: .type)
            }
        }
    }

    /// One stop string or several.
    package enum Stop: Codable, Sendable {
        case one(String)
        case many([String])

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) { self = .one(one) } else { self = .many(try container.decode([String].self)) }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .one(let one): try container.encode(one)
            case .many(let many): try container.encode(many)
            }
        }

        package var strings: [String] {
            switch self {
            case .one(let one): [one]
            case .many(let many): many
            }
        }
    }

    package struct StreamOptions: Codable, Sendable {
        /// Asks for the token counts in a last chunk.
        package var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
        package init(includeUsage: Bool?) { self.includeUsage = includeUsage }
    }

    package var model: String?
    package var messages: [Message] = []
    package var stream: Bool?
    package var streamOptions: StreamOptions?
    package var temperature: Double?
    package var topP: Double?
    /// Not in OpenAI's API; vLLM, SGLang and llama.cpp accept it as an extra top-level field (Ollama ignores it).
    package var topK: Int?
    package var maxTokens: Int?
    package var maxCompletionTokens: Int?
    package var presencePenalty: Double?
    package var seed: UInt64?
    package var stop: Stop?
    /// Not in OpenAI's API: the most reasoning tokens before `</think>` is forced (a Thinking model, on `serve`).
    package var thinkingBudget: Int?
    /// vLLM's and SGLang's way to extend the last assistant message instead of starting a new one.
    package var continueFinalMessage: Bool?
    package var addGenerationPrompt: Bool?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed, stop
        case streamOptions = "stream_options", topP = "top_p", topK = "top_k", maxTokens = "max_tokens",
             maxCompletionTokens = "max_completion_tokens", presencePenalty = "presence_penalty", thinkingBudget = "thinking_budget",
             continueFinalMessage = "continue_final_message", addGenerationPrompt = "add_generation_prompt"
    }

    package init() {}
}

/// A whole reply (`chat.completion`, `choices[].message`) or one streamed chunk (`chat.completion.chunk`,
/// `choices[].delta`), and the token counts that come with the last chunk or the whole reply. Fields a
/// client does not need are read leniently: a server that sends them oddly is still understood.
package struct ChatCompletionReply: Codable, Sendable {
    package struct Choice: Codable, Sendable {
        package var index: Int?
        package var message: Message?
        package var delta: Message?
        package var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, message, delta
            case finishReason = "finish_reason"
        }

        package init(index: Int = 0, message: Message? = nil, delta: Message? = nil, finishReason: String?) {
            self.index = index
            self.message = message
            self.delta = delta
            self.finishReason = finishReason
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            index = try? container.decodeIfPresent(Int.self, forKey: .index)
            message = try container.decodeIfPresent(Message.self, forKey: .message)
            delta = try container.decodeIfPresent(Message.self, forKey: .delta)
            finishReason = try container.decodeIfPresent(String.self, forKey: .finishReason)
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index ?? 0, forKey: .index)
            try container.encodeIfPresent(message, forKey: .message)
            try container.encodeIfPresent(delta, forKey: .delta)
            try container.encode(finishReason, forKey: .finishReason) // null while streaming, as clients expect
        }

        /// `delta` of a chunk or `message` of a whole reply: the same fields.
        package var text: Message? {
            get { delta ?? message }
            set { if delta != nil { delta = newValue } else { message = newValue } }
        }
    }

    /// Servers that run a reasoning parser put the thinking in a separate field: `reasoning_content`
    /// (vLLM before 0.11, SGLang, llama.cpp, `serve`) or `reasoning` (newer vLLM, Ollama). Servers that
    /// parse tool calls out of the text (Ollama always; vLLM and llama.cpp when the request has tools)
    /// send them in `tool_calls`.
    package struct Message: Codable, Sendable {
        package var role: String?
        package var content: String?
        package var reasoningContent: String?
        package var reasoning: String?
        package var toolCalls: [ToolCall]?

        enum CodingKeys: String, CodingKey {
            case role, content, reasoning
            case reasoningContent = "reasoning_content", toolCalls = "tool_calls"
        }

        package init(role: String? = nil, content: String? = nil, reasoningContent: String? = nil) {
            self.role = role
            self.content = content
            self.reasoningContent = reasoningContent
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try? container.decodeIfPresent(String.self, forKey: .role)
            content = try container.decodeIfPresent(String.self, forKey: .content)
            reasoningContent = try container.decodeIfPresent(String.self, forKey: .reasoningContent)
            reasoning = try container.decodeIfPresent(String.self, forKey: .reasoning)
            toolCalls = try container.decodeIfPresent([ToolCall].self, forKey: .toolCalls)
        }

        package var thinking: String? { reasoningContent ?? reasoning }
    }

    /// A tool call, or (streamed) a piece of one: the pieces of one call share its `index`.
    package struct ToolCall: Codable, Sendable {
        package struct Function: Codable, Sendable {
            package let name: String?
            package var arguments: Arguments?
        }

        /// A JSON text, often sent in pieces; a few servers send the object itself. Written as text,
        /// as OpenAI sends it.
        package enum Arguments: Codable, Sendable {
            case text(String)
            /// An object's JSON text, keys in the server's order: `ChatCompletionReply.decode` fills it in.
            case object(String)

            package init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                self = (try? container.decode(String.self)).map { .text($0) } ?? .object("{}")
            }

            package func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .text(let text), .object(let text): try container.encode(text)
                }
            }
        }

        package let index: Int?
        package var function: Function?

        package var hasObjectArguments: Bool { if case .object? = function?.arguments { true } else { false } }
    }

    package struct Usage: Codable, Sendable {
        package var promptTokens: Int?
        package var completionTokens: Int?
        package var totalTokens: Int?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        }

        package init(promptTokens: Int, completionTokens: Int) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            totalTokens = promptTokens + completionTokens
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            promptTokens = try container.decodeIfPresent(Int.self, forKey: .promptTokens)
            completionTokens = try container.decodeIfPresent(Int.self, forKey: .completionTokens)
            totalTokens = try? container.decodeIfPresent(Int.self, forKey: .totalTokens)
        }
    }

    package var id: String?
    package var object: String?
    package var created: Int?
    package var model: String?
    package var choices: [Choice]?
    package var usage: Usage?

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }

    package init(id: String, object: String, created: Int, model: String, choices: [Choice], usage: Usage?) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try? container.decodeIfPresent(String.self, forKey: .id)
        object = try? container.decodeIfPresent(String.self, forKey: .object)
        created = try? container.decodeIfPresent(Int.self, forKey: .created)
        model = try? container.decodeIfPresent(String.self, forKey: .model)
        choices = try container.decodeIfPresent([Choice].self, forKey: .choices)
        usage = try container.decodeIfPresent(Usage.self, forKey: .usage)
    }
}

/// `{"error": {"message": …, "type": …}}`, as OpenAI and the common servers send it.
package struct ErrorBody: Codable, Sendable {
    package struct Detail: Codable, Sendable {
        package let message: String
        package let type: String
    }

    package let error: Detail

    package init(_ message: String, type: String = "invalid_request_error") {
        error = Detail(message: message, type: type)
    }
}

/// `GET /v1/models`.
package struct ModelList: Codable, Sendable {
    package struct Entry: Codable, Sendable {
        package var id: String
        package var object = "model"
        package var created: Int
        package var ownedBy = "qwen-agent"
        /// Not in OpenAI's API: `thinking` or `instruct`, from the model folder's chat template.
        package var variant: String?

        enum CodingKeys: String, CodingKey {
            case id, object, created, variant
            case ownedBy = "owned_by"
        }

        package init(id: String, created: Int, variant: String?) {
            self.id = id
            self.created = created
            self.variant = variant
        }
    }

    package var object = "list"
    package var data: [Entry]

    package init(data: [Entry]) { self.data = data }
}
