import Agent
import Foundation
import MCP
import Synchronization

/// What `run_task` tells the client while it runs: the model's reasoning as it streams, each step's
/// start, action and check, as MCP progress notifications (when the request carries a progress token);
/// and what the result sums up (steps, actions, the session folder).
///
/// The agent's events are synchronous callbacks; they go into a stream that one task sends on, in order.
final class Progress: Sendable {
    struct Summary: Sendable {
        var steps = 0
        var actions: [String] = []
        var session: String?
    }

    private let continuation: AsyncStream<String>.Continuation
    private let sender: Task<Void, Never>
    private let mask: StreamingSecretMask
    private let collected = Mutex(Summary())

    init(server: Server, token: ProgressToken?, secrets: [String]) {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        self.continuation = continuation
        mask = StreamingSecretMask(secrets)
        sender = Task {
            var count = 0.0
            for await message in stream {
                guard let token else { continue }
                count += 1
                try? await server.notify(ProgressNotification.message(.init(progressToken: token, progress: count, message: message)))
            }
        }
    }

    var summary: Summary { collected.withLock { $0 } }

    /// The agent's events, turned into progress messages.
    var events: AgentEvents {
        var events = AgentEvents()
        events.stepStarted = { [self] step, model in
            collected.withLock { $0.steps = step }
            send("\n── step \(step) ──\(model.map { " (\($0))" } ?? "")\n")
        }
        events.text = { [self] piece in send(mask.feed(piece)) }
        events.acting = { [self] _, resolved in
            let line = mask.masked(resolved.description)
            collected.withLock { $0.actions.append(line) }
            send("\n→ \(line)\n")
        }
        events.verified = { [self] _, verification, _ in send("✓ \(verification)\n") }
        events.note = { [self] note in send("\(mask.masked(note))\n") }
        return events
    }

    /// The run has started: where its session is.
    func started(_ start: LiveRun.Start) {
        collected.withLock { $0.session = start.session.path }
        send("session: \(start.session.path)\n")
    }

    /// No more messages.
    func finish() { continuation.finish() }

    /// Waits until every message is sent, so the result comes after the last notification.
    func flushed() async { await sender.value }

    private func send(_ message: String) {
        guard !message.isEmpty else { return }
        continuation.yield(message)
    }
}
