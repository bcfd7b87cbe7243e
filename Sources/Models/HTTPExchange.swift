import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// One HTTP request whose response arrives as events, body bytes as the network delivers them.
///
/// A delegate rather than `URLSession.bytes(for:)`, which swift-corelibs-foundation lacks; one
/// session per exchange, because corelibs has no per-task delegates.
final class HTTPExchange: NSObject, URLSessionDataDelegate, Sendable {
    enum Event: Sendable {
        case response(status: Int, contentType: String?, retryAfter: String?)
        case bytes(Data)
        /// The transfer ended: nil when the server closed the response properly.
        case completed((any Error)?)
        /// Nothing arrived for the idle timeout.
        case idle
    }

    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let lastActivity = Mutex(ContinuousClock.now)
    private let state = Mutex(State())

    private struct State {
        var finished = false
        var watchdog: Task<Void, Never>?
    }

    override init() {
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        super.init()
    }

    /// Sends `request` and returns its events. Until the caller invalidates `session`, the session
    /// keeps this delegate alive.
    static func start(_ request: URLRequest, idleTimeout: Duration) -> (HTTPExchange, URLSession) {
        let exchange = HTTPExchange()
        let configuration = URLSessionConfiguration.ephemeral
        // Corelibs restarts this timer on every body chunk, so it is an idle timeout too; it only
        // backs up the watchdog, which also covers the wait for the response headers.
        configuration.timeoutIntervalForRequest = idleTimeout.timeInterval + 1
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: exchange, delegateQueue: nil)
        let watchdog = Task { await exchange.watch(idleTimeout) }
        exchange.state.withLock { state in
            if state.finished { watchdog.cancel() } else { state.watchdog = watchdog }
        }
        session.dataTask(with: request).resume()
        return (exchange, session)
    }

    /// Ends the events with `.idle` once nothing has arrived for `timeout`.
    private func watch(_ timeout: Duration) async {
        while !Task.isCancelled {
            let deadline = lastActivity.withLock { $0 } + timeout
            if ContinuousClock.now >= deadline {
                continuation.yield(.idle)
                finish()
                return
            }
            try? await Task.sleep(until: deadline, clock: .continuous)
        }
    }

    /// Ends the events early, when the caller stops listening.
    func cancel() {
        finish()
    }

    private func finish() {
        let watchdog = state.withLock { state in
            state.finished = true
            return state.watchdog.take()
        }
        watchdog?.cancel()
        continuation.finish()
    }

    private func touch() {
        lastActivity.withLock { $0 = .now }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        touch()
        let http = response as? HTTPURLResponse
        continuation.yield(.response(status: http?.statusCode ?? 0,
                                     contentType: http?.value(forHTTPHeaderField: "Content-Type"),
                                     retryAfter: http?.value(forHTTPHeaderField: "Retry-After")))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        touch()
        continuation.yield(.bytes(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        continuation.yield(.completed(error))
        finish()
    }
}

extension Duration {
    /// Seconds, for APIs that take a `TimeInterval`.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
