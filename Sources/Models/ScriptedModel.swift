public import Foundation
import Synchronization

/// Replays model responses from a transcript, in order: for tests and demos. Its identity says
/// "scripted", so nothing it produces can be mistaken for a model's output.
///
/// Transcript format (UTF-8 text): responses separated by a line that is exactly `---8<---`.
/// Each response is the raw text a model would have produced, e.g. a Qwen3-VL Thinking reply
/// (reasoning, `</think>`, a `<tool_call>`). Streaming yields it in small chunks, as a model would.
public final class ScriptedModel: VisionLanguageModel {
    public static let separator = "---8<---"

    public let identity: ModelIdentity
    private let responses: [String]
    private let next = Mutex(0)

    public init(responses: [String], name: String = "inline transcript") {
        self.responses = responses
        identity = ModelIdentity(kind: .scripted, name: name)
    }

    /// Reads a transcript file.
    public convenience init(transcript url: URL) throws(ModelError) {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ModelError(.badResponse, "cannot read the transcript \(url.path): \(error.localizedDescription)")
        }
        try self.init(transcript: text, name: url.path)
    }

    /// Reads a transcript's text; `name` says where it came from.
    public convenience init(transcript text: String, name: String) throws(ModelError) {
        let responses = Self.split(text)
        guard !responses.isEmpty else { throw ModelError(.badResponse, "the transcript \(name) holds no responses") }
        self.init(responses: responses, name: name)
    }

    /// How many responses have been handed out.
    public var used: Int { next.withLock { $0 } }

    public func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        let index = next.withLock { value in
            defer { value += 1 }
            return value
        }
        let responses = responses, name = identity.name
        return AsyncThrowingStream { continuation in
            guard index < responses.count else {
                continuation.finish(throwing: ModelError(.exhausted, "the scripted transcript \(name) has only \(responses.count) responses"))
                return
            }
            // Chunks of a few characters, like tokens arriving.
            var chunk = ""
            for character in responses[index] {
                chunk.append(character)
                if chunk.count == 8 {
                    continuation.yield(.text(chunk))
                    chunk = ""
                }
            }
            if !chunk.isEmpty { continuation.yield(.text(chunk)) }
            continuation.finish()
        }
    }

    static func split(_ text: String) -> [String] {
        var responses: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == Substring(separator) {
                responses.append(current.joined(separator: "\n"))
                current = []
            } else {
                current.append(line)
            }
        }
        responses.append(current.joined(separator: "\n"))
        return responses.map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
    }
}
