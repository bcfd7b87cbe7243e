import Foundation
import Hummingbird
import Synchronization

/// Who may talk to the server. With a token (any address but loopback), every request must carry it:
/// `Authorization: Bearer …`, the cookie the page got, or `?token=` on the first page load. Without one,
/// only the loopback names are accepted as `Host` (no DNS rebinding). A browser request from another
/// origin is refused either way, so a page the user happens to visit cannot drive the agent.
struct AccessCheck<Context: RequestContext>: RouterMiddleware {
    static var cookieName: String { "qwen_agent_token" }

    let token: String?
    /// The port actually bound, known once the server runs.
    let port: Port

    final class Port: Sendable {
        private let value = Mutex(0)
        var number: Int { value.withLock { $0 } }
        func set(_ number: Int) { value.withLock { $0 = number } }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority ?? ""
        var fromQuery = false
        if let token {
            let offered = Self.bearer(request) ?? Self.cookie(request)
            if offered.map({ Self.same($0, token) }) != true {
                guard let query = request.uri.queryParameters["token"].map(String.init), Self.same(query, token) else {
                    return JSONResponse.error(.unauthorized, "this server needs its token: open the URL serve printed (…/?token=…), "
                                              + "or send Authorization: Bearer TOKEN", type: "authentication_error")
                }
                fromQuery = true
            }
        } else {
            let port = port.number
            let allowed = ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"]
            if !allowed.contains(host.lowercased()) {
                return JSONResponse.error(.forbidden, "Host '\(host)' is not this server's loopback address; use http://127.0.0.1:\(port)/",
                                          type: "permission_error")
            }
        }
        if let origin = request.headers[.origin], origin.lowercased() != "http://\(host.lowercased())" {
            return JSONResponse.error(.forbidden, "requests from the page at \(origin) are refused; use the page this server serves",
                                      type: "permission_error")
        }
        var response = try await next(request, context)
        if fromQuery, let token {
            response.headers[.setCookie] = "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict"
        }
        return response
    }

    private static func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    private static func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookieName { return String(parts[1]) }
            }
        }
        return nil
    }

    /// Compares in time that does not depend on where the strings first differ.
    private static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
