import Foundation
import Imaging
import Qwen3VLPrompt

// The client's side of the chat-completions wire format (ChatCompletionWire.swift): the request made
// from a conversation, and the reply read with its tool calls' arguments in the server's key order.

extension ChatCompletionRequest {
    /// Settings left nil are omitted, so the server's own defaults (often the model's
    /// `generation_config.json`) apply instead of OpenAI's. User and system turns are sent as parts;
    /// an assistant turn as plain text, which every server takes and which `continue_final_message`
    /// finds again in the rendered prompt. Images go as `data:` URLs, so the server needs no access to
    /// the files they came from.
    init(model: String, conversation: [ChatMessage], settings: GenerationSettings, stream: Bool) throws(ImagingError) {
        self.init()
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
        self.stream = stream
        streamOptions = stream ? StreamOptions(includeUsage: true) : nil
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

extension ChatCompletionReply {
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

