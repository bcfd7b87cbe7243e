import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
    }

    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    override init() {
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        super.init()
    }

    /// Sends `request` and returns its events; the caller invalidates `session` when done, which
    /// cancels the request if it is still running and releases this delegate.
    ///
    /// `idleTimeout` is URLSession's request timeout, which is documented as (and in corelibs is) the
    /// longest wait for the next data, headers included, not a limit on the whole transfer.
    static func start(_ request: URLRequest, idleTimeout: Duration) -> (HTTPExchange, URLSession) {
        let exchange = HTTPExchange()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout.timeInterval
        configuration.urlCache = nil
        var request = request
        request.timeoutInterval = idleTimeout.timeInterval
        let session = URLSession(configuration: configuration, delegate: exchange, delegateQueue: nil)
        session.dataTask(with: request).resume()
        return (exchange, session)
    }

    /// Ends the events early, when the caller stops listening.
    func cancel() {
        continuation.finish()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        continuation.yield(.response(status: http?.statusCode ?? 0,
                                     contentType: http?.value(forHTTPHeaderField: "Content-Type"),
                                     retryAfter: http?.value(forHTTPHeaderField: "Retry-After")))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        continuation.yield(.bytes(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        continuation.yield(.completed(error))
        continuation.finish()
    }
}

extension Duration {
    /// Seconds, for APIs that take a `TimeInterval`.
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
