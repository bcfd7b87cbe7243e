import Foundation
import Logging
import Models
import Synchronization

/// What one `generate` call produced: its text chunks, status lines and cost, and the error it ended with.
struct Generation {
    var chunks: [String] = []
    var statuses: [String] = []
    var cost: ModelCall?
    var error: (any Error)?
    var elapsed = Duration.zero

    var text: String { chunks.joined() }
    var modelError: ModelError? { error as? ModelError }
}

func collect(_ stream: AsyncThrowingStream<ModelEvent, any Error>) async -> Generation {
    var generation = Generation()
    let start = ContinuousClock.now
    do {
        for try await event in stream {
            switch event {
            case .text(let chunk): generation.chunks.append(chunk)
            case .status(let status): generation.statuses.append(status)
            case .cost(let cost): generation.cost = cost
            }
        }
    } catch {
        generation.error = error
    }
    generation.elapsed = start.duration(to: .now)
    return generation
}

/// Keeps every log record, to check what the model logs (and that the key is never in it).
final class LogRecords: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]

        var line: String { ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    private let storage = Mutex<[Record]>([])

    var all: [Record] { storage.withLock { $0 } }

    func append(_ record: Record) { storage.withLock { $0.append(record) } }

    var logger: Logger {
        Logger(label: "models-tests") { _ in CapturingLogHandler(records: self) }
    }
}

struct CapturingLogHandler: LogHandler {
    let records: LogRecords
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        records.append(.init(level: event.level, message: event.message.description,
                             metadata: merged.mapValues { "\($0)" }))
    }
}
