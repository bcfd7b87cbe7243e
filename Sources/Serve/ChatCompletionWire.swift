import Foundation
import Imaging
import Models

// The chat-completions wire format from the server's side: requests are read, replies written. The
// client's side (what qwen-agent sends to vLLM and friends) is in Models/OpenAIWire.swift.

/// A `POST /v1/chat/completions` body. Unknown fields are ignored, as the common servers do.
struct ChatCompletionBody: Decodable {
    struct Message: Decodable {
        let role: String
        let content: Content?
    }

    /// A plain string, or parts (text and `image_url`).
    enum Content: Decodable {
        case text(String)
        case parts([Part])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .parts(try container.decode([Part].self))
            }
        }
    }

    struct Part: Decodable {
        struct ImageURL: Decodable { let url: String }
        /// An upload of `POST /v1/files`, by id.
        struct File: Decodable {
            let fileID: String?
            enum CodingKeys: String, CodingKey { case fileID = "file_id" }
        }

        let type: String
        let text: String?
        let imageURL: ImageURL?
        let file: File?

        enum CodingKeys: String, CodingKey {
            case type, text, file
            case imageURL = "image_url"
        }
    }

    /// One stop string or several.
    enum Stop: Decodable {
        case one(String)
        case many([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) { self = .one(one) } else { self = .many(try container.decode([String].self)) }
        }

        var strings: [String] {
            switch self {
            case .one(let one): [one]
            case .many(let many): many
            }
        }
    }

    struct StreamOptions: Decodable {
        let includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    let model: String?
    let messages: [Message]
    let stream: Bool?
    let streamOptions: StreamOptions?
    let maxTokens: Int?
    let maxCompletionTokens: Int?
    let temperature: Double?
    let topP: Double?
    let topK: Int?
    let presencePenalty: Double?
    let seed: UInt64?
    let stop: Stop?
    /// Not in OpenAI's API: the most reasoning tokens before `</think>` is forced (a Thinking model).
    let thinkingBudget: Int?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed, stop
        case streamOptions = "stream_options", maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens",
             topP = "top_p", topK = "top_k", presencePenalty = "presence_penalty", thinkingBudget = "thinking_budget"
    }

    /// The sampling settings, checked; a bad value is a one-line message for a 400.
    func settings() throws(RequestProblem) -> GenerationSettings {
        if let temperature, !(temperature >= 0 && temperature.isFinite) { throw RequestProblem("temperature must be a number from 0 up") }
        if let topP, !(topP > 0 && topP <= 1) { throw RequestProblem("top_p must be above 0 and at most 1") }
        if let topK, topK < 1 && topK != -1 { throw RequestProblem("top_k must be at least 1 (or -1 for no limit)") }
        let limit = maxCompletionTokens ?? maxTokens
        if let limit, limit < 1 { throw RequestProblem("max_tokens must be at least 1") }
        if let thinkingBudget, thinkingBudget < 0 { throw RequestProblem("thinking_budget must be 0 or more tokens") }
        if let presencePenalty, !presencePenalty.isFinite { throw RequestProblem("presence_penalty must be a finite number") }
        return GenerationSettings(temperature: temperature, topP: topP, topK: topK == -1 ? nil : topK, presencePenalty: presencePenalty,
                                  maxNewTokens: limit, maxThinkingTokens: thinkingBudget, seed: seed)
    }

    /// The conversation with its images decoded: `data:` URLs of PNG images, or uploads named by id that
    /// `upload` finds (the server fetches nothing).
    func conversation(upload: (String) -> RGBImage?) throws(RequestProblem) -> [ChatMessage] {
        if messages.isEmpty { throw RequestProblem("messages is empty; send at least one user message") }
        var conversation: [ChatMessage] = []
        for (index, message) in messages.enumerated() {
            guard let role = ChatMessage.Role(rawValue: message.role) else {
                throw RequestProblem("messages[\(index)].role '\(message.role)' is not system, user or assistant")
            }
            var content: [ChatMessage.Content] = []
            switch message.content {
            case nil: break
            case .text(let text)?: content.append(.text(text))
            case .parts(let parts)?:
                for part in parts {
                    switch part.type {
                    case "text": content.append(.text(part.text ?? ""))
                    case "image_url":
                        guard let url = part.imageURL?.url else { throw RequestProblem("messages[\(index)]: an image_url part needs image_url.url") }
                        content.append(.image(try Self.image(dataURL: url, message: index)))
                    case "file":
                        guard let id = part.file?.fileID else {
                            throw RequestProblem("messages[\(index)]: a file part needs file.file_id (POST /v1/files returns it)")
                        }
                        guard let image = upload(id) else {
                            throw RequestProblem("messages[\(index)]: no uploaded file '\(id)'; POST /v1/files uploads one, GET /v1/files lists them",
                                                 notFound: true)
                        }
                        content.append(.image(image))
                    default: throw RequestProblem("messages[\(index)]: part type '\(part.type)' is not text, image_url or file")
                    }
                }
            }
            conversation.append(ChatMessage(role: role, content: content))
        }
        return conversation
    }

    private static func image(dataURL url: String, message index: Int) throws(RequestProblem) -> RGBImage {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
            throw RequestProblem("messages[\(index)]: images must be data URLs (data:image/png;base64,…); the server fetches nothing")
        }
        guard let bytes = Data(base64Encoded: String(url[url.index(after: comma)...]), options: .ignoreUnknownCharacters) else {
            throw RequestProblem("messages[\(index)]: the image's base64 does not decode")
        }
        do {
            return try PNG.decode(bytes)
        } catch {
            throw RequestProblem("messages[\(index)]: the image is not a PNG that can be read (\(error.message)); send PNG images")
        }
    }
}

/// Why a request cannot be answered, in one line; becomes a JSON error with a 4xx status.
struct RequestProblem: Error {
    let message: String
    /// Names something that is not here (a 404), rather than being malformed (a 400).
    let notFound: Bool
    init(_ message: String, notFound: Bool = false) {
        self.message = message
        self.notFound = notFound
    }
}

/// `{"error": {"message": …, "type": …}}`, as OpenAI and the common servers send it.
struct ErrorBody: Encodable {
    struct Detail: Encodable {
        let message: String
        let type: String
    }

    let error: Detail

    init(_ message: String, type: String = "invalid_request_error") {
        error = Detail(message: message, type: type)
    }
}

/// A whole reply (`chat.completion`) or one streamed chunk (`chat.completion.chunk`).
struct ChatCompletionReplyBody: Encodable {
    struct Choice: Encodable {
        let index = 0
        let message: Text?
        let delta: Text?
        let finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, message, delta
            case finishReason = "finish_reason"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encodeIfPresent(message, forKey: .message)
            try container.encodeIfPresent(delta, forKey: .delta)
            try container.encode(finishReason, forKey: .finishReason) // null while streaming, as clients expect
        }
    }

    /// `message` of a whole reply, `delta` of a chunk; the reasoning goes in `reasoning_content`.
    struct Text: Encodable {
        var role: String?
        var content: String?
        var reasoningContent: String?

        enum CodingKeys: String, CodingKey {
            case role, content
            case reasoningContent = "reasoning_content"
        }
    }

    struct Usage: Encodable {
        let promptTokens: Int
        let completionTokens: Int
        var totalTokens: Int { promptTokens + completionTokens }

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(promptTokens, forKey: .promptTokens)
            try container.encode(completionTokens, forKey: .completionTokens)
            try container.encode(totalTokens, forKey: .totalTokens)
        }
    }

    let id: String
    let object: String
    let created: Int
    let model: String
    let choices: [Choice]
    let usage: Usage?
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    struct Entry: Encodable {
        let id: String
        let object = "model"
        let created: Int
        let ownedBy = "qwen-agent"
        /// Not in OpenAI's API: `thinking` or `instruct`, from the model folder's chat template.
        let variant: String
        enum CodingKeys: String, CodingKey {
            case id, object, created, variant
            case ownedBy = "owned_by"
        }
    }

    let object = "list"
    let data: [Entry]
}

extension ModelCall.Finish {
    /// The OpenAI `finish_reason`: a reply cut at a token limit is `length`.
    var openAIReason: String {
        switch self {
        case .stop, .thinkingClosed: "stop"
        case .length, .thinkingCut: "length"
        }
    }
}
