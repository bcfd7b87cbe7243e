import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// One HTTP exchange whose response arrives as events, body bytes as the network delivers them.
///
/// A delegate on the event loop rather than AsyncHTTPClient's async body: that body stops reading
/// while its consumer is busy, and the idle-read timer runs on meanwhile, so a consumer kept waiting
/// by a crowded task pool would look like a silent server. Read here, bytes never wait for the
/// consumer, and the idle timeout measures the server alone.
final class StreamedResponse: HTTPClientResponseDelegate {
    typealias Response = Void

    enum Event: Sendable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
    }

    /// The response's head, then its body; the stream ends with the response, or throws its failure.
    let events: AsyncThrowingStream<Event, any Error>
    private let continuation: AsyncThrowingStream<Event, any Error>.Continuation

    private init() {
        (events, continuation) = AsyncThrowingStream.makeStream(of: Event.self)
    }

    /// Sends `request`; the caller cancels the task when it stops listening, which closes the request.
    static func start(_ request: HTTPClient.Request, on client: HTTPClient, logger: Logger) -> (StreamedResponse, HTTPClient.Task<Void>) {
        let response = StreamedResponse()
        return (response, client.execute(request: request, delegate: response, logger: logger))
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        continuation.yield(.head(head))
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        continuation.yield(.body(buffer))
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        continuation.finish(throwing: error)
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        continuation.finish()
    }
}
