import Foundation
public import Models
import Synchronization

/// A model `/v1/chat/completions` can also answer with, named by a request's `model` (the page's
/// Instruct/Thinking switch picks one by its variant). It is loaded when first asked for and then stays.
public struct ChatModelOffer: Sendable {
    public let name: String
    /// Whether its replies begin with reasoning that `</think>` closes (a Thinking model).
    public let thinks: Bool
    let load: @Sendable () throws(ModelError) -> any VisionLanguageModel

    public init(name: String, thinks: Bool, load: @escaping @Sendable () throws(ModelError) -> any VisionLanguageModel) {
        self.name = name
        self.thinks = thinks
        self.load = load
    }
}

/// The chat models by name, the one serve started with first; each loaded at most once.
final class ChatSeats: Sendable {
    final class Seat: Sendable {
        let name: String
        let thinks: Bool
        private let load: @Sendable () throws(ModelError) -> any VisionLanguageModel
        private let loaded: Mutex<(any VisionLanguageModel)?>

        init(name: String, thinks: Bool, model: (any VisionLanguageModel)?, load: @escaping @Sendable () throws(ModelError) -> any VisionLanguageModel) {
            self.name = name
            self.thinks = thinks
            self.load = load
            loaded = Mutex(model)
        }

        var variant: String { thinks ? "thinking" : "instruct" }
        var isLoaded: Bool { loaded.withLock { $0 != nil } }
        /// The KV cache it holds (nil while not loaded, or for a model that keeps none here).
        var kvCacheBytes: Int? { loaded.withLock { $0 }?.kvCacheBytes }

        /// The model, loaded first if this is its first use: on a thread of its own, since reading
        /// gigabytes of weights would hold one of the concurrency pool's few threads for seconds.
        /// Callers take turns (TurnQueue), so it is never loaded twice.
        func model() async throws -> any VisionLanguageModel {
            if let model = loaded.withLock({ $0 }) { return model }
            let load = self.load
            let model = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any VisionLanguageModel, any Error>) in
                Thread { continuation.resume(with: Result { () throws(ModelError) in try load() }) }.start()
            }
            loaded.withLock { $0 = model }
            return model
        }
    }

    let all: [Seat]

    init(_ backend: ServeBackend) {
        let first = backend.chatModel
        all = [Seat(name: backend.chatModelName, thinks: backend.chatThinks, model: first, load: { first })]
            + backend.moreChatModels.map { Seat(name: $0.name, thinks: $0.thinks, model: nil, load: $0.load) }
    }

    var first: Seat { all[0] }

    /// The seat a request names; nil or "" is the first.
    func seat(named name: String?) -> Seat? {
        guard let name, !name.isEmpty else { return first }
        return all.first { $0.name == name }
    }
}
