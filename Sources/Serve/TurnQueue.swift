import Synchronization

/// Lets one request at a time use a model, the others waiting in arrival order. A waiter whose task
/// is cancelled (its client went away) leaves the queue without ever taking a turn.
final class TurnQueue: Sendable {
    private struct State {
        var busy = false
        var waiting: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Runs `body` when it is this caller's turn; throws `CancellationError` if cancelled while waiting.
    func withTurn<T>(_ body: () async throws -> T) async throws -> T {
        try await take()
        defer { give() }
        return try await body()
    }

    /// How many requests wait for the model.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    private func take() async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { state -> Bool in
                    if !state.busy {
                        state.busy = true
                        return true
                    }
                    state.waiting.append((id, continuation))
                    return false
                }
                if now { continuation.resume(returning: true) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiting.firstIndex { $0.id == id }.map { state.waiting.remove(at: $0).continuation }
            }
            waiter?.resume(returning: false)
        }
        if !granted { throw CancellationError() }
        if Task.isCancelled { // cancelled before it queued: the turn came anyway, pass it on
            give()
            throw CancellationError()
        }
    }

    private func give() {
        let next = state.withLock { state in
            if state.waiting.isEmpty {
                state.busy = false
                return nil as CheckedContinuation<Bool, Never>?
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
