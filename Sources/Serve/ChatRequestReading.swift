import Foundation
import Imaging
import Models

// What the server makes of a chat-completions request (the wire types are Models/ChatCompletionWire.swift):
// its settings checked, its images decoded.

extension ChatCompletionRequest {
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
                    switch part {
                    case .text(let text): content.append(.text(text))
                    case .imageURL(let url):
                        guard let url else { throw RequestProblem("messages[\(index)]: an image_url part needs image_url.url") }
                        content.append(.image(try Self.image(dataURL: url, message: index)))
                    case .file(let id):
                        guard let id else {
                            throw RequestProblem("messages[\(index)]: a file part needs file.file_id (POST /v1/files returns it)")
                        }
                        guard let image = upload(id) else {
                            throw RequestProblem("messages[\(index)]: no uploaded file '\(id)'; POST /v1/files uploads one, GET /v1/files lists them",
                                                 notFound: true)
                        }
                        content.append(.image(image))
                    case .other(let type): throw RequestProblem("messages[\(index)]: part type '\(type)' is not text, image_url or file")
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

extension ModelCall.Finish {
    /// The OpenAI `finish_reason`: a reply cut at a token limit is `length`.
    var openAIReason: String {
        switch self {
        case .stop, .thinkingClosed: "stop"
        case .length, .thinkingCut: "length"
        }
    }
}
