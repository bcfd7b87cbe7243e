import AgentCore
/// Why a wait ended before what it waited for.
public enum WaitInterrupted: Error, Sendable, Equatable {
    /// The abort key, Ctrl-C, or a cancelled task.
    case aborted
    /// The step's time limit passed; the message says which limit.
    case timedOut(String)
}

/// Waits that see the abort flag and a deadline at once, without holding a thread: every wait in
/// the loop (the model's reply, settling, `wait`, the user's confirmation) goes through here.
struct Watch: Sendable {
    let isAborted: @Sendable () -> Bool
    /// How often the flag and the deadline are looked at.
    let interval: Duration

    /// Sleeps for `duration`, ending early (throwing ``WaitInterrupted/aborted``) when the user aborts.
    func pause(_ duration: Duration) async throws(WaitInterrupted) {
        let end = ContinuousClock.now + duration
        while true {
            if isAborted() || Task.isCancelled { throw .aborted }
            let left = end - ContinuousClock.now
            if left <= .zero { return }
            do { try await Task.sleep(for: min(left, interval)) } catch { throw .aborted }
        }
    }

    /// Runs `operation` until it finishes, the user aborts or `deadline` passes; the loser is cancelled.
    func race<T: Sendable>(deadline: ContinuousClock.Instant?, timeout: @autoclosure () -> String,
                           _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let (isAborted, interval) = (isAborted, interval)
        let message = timeout()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                while !isAborted() {
                    if let deadline, ContinuousClock.now >= deadline { throw WaitInterrupted.timedOut(message) }
                    try await Task.sleep(for: interval)
                }
                throw WaitInterrupted.aborted
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw WaitInterrupted.aborted }
            return value
        }
    }
}
