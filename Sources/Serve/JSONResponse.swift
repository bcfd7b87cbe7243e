import Foundation
import Hummingbird
import Models
import NIOCore

/// JSON bodies in and out, and the one shape of an error: `{"error": {"message": …, "type": …}}`.
enum JSONResponse {
    static let contentType = "application/json; charset=utf-8"
    static let decoder = JSONDecoder()

    static func text(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        // The types sent here encode nothing that can fail (no non-finite numbers reach them).
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: text(value) + "\n")))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error") -> Response {
        make(ErrorBody(message, type: type), status: status)
    }

    /// A decoding error in a few words: where in the JSON and what was wrong.
    static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : " at \(keys.dropFirst(keys.hasPrefix(".") ? 1 : 0))"
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing field '\(key.stringValue)'\(path(context))"
        case DecodingError.typeMismatch(_, let context): return "wrong type\(path(context)): \(context.debugDescription)"
        case DecodingError.valueNotFound(_, let context): return "missing value\(path(context))"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "bad value\(path(context)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }

    /// Reads a JSON body of at most `limit` bytes as `T`; the failure is the response to send.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int, what: String) async -> Result<T, ResponseFailure> {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            return .failure(ResponseFailure(tooLarge(limit)))
        }
        do {
            return .success(try decoder.decode(T.self, from: Data(body.readableBytesView)))
        } catch {
            return .failure(ResponseFailure(self.error(.badRequest, "the body is not \(what): \(describe(error))")))
        }
    }

    static func tooLarge(_ limit: Int) -> Response {
        error(.contentTooLarge, "the request body is larger than \(limit / 1_048_576 > 0 ? "\(limit / 1_048_576) MB" : "\(limit / 1024) KB"); "
              + "send a smaller image or start serve with a larger --max-upload-mb")
    }
}

/// A response that ends a request early.
struct ResponseFailure: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
