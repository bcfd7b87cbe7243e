import Foundation

/// Runs a long synchronous computation (a golden model run, a fuzz loop) on a thread of its own and
/// awaits it. Swift Testing runs tests as tasks on the concurrency pool, which has one thread per
/// core; a test that computes for seconds on a pool thread holds it, and with two cores two such
/// tests stall every awaiting test (timeouts, HTTP replies, the agent loop's waits) for as long.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
