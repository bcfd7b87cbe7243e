import Foundation
public import Hummingbird
import Synchronization

/// Who may talk to the server. With a token (any address but loopback), every request must carry it:
/// `Authorization: Bearer …`, the cookie the page got, or `?token=` on the first page load. Without one,
/// only the loopback names are accepted as `Host` (no DNS rebinding). A browser request from another
/// origin is refused either way, so a page the user happens to visit cannot drive the agent.
///
/// `serve` and `mcp --http` both put it in front of their routes; each words its refusals in its own
/// protocol's error format (`refuse`).
public struct AccessCheck<Context: RequestContext>: RouterMiddleware {
    public static var cookieName: String { "qwen_agent_token" }

    /// Why a request is refused: 401 (no or a wrong token) or 403 (a foreign Host or Origin).
    public enum Refusal: Sendable {
        case unauthorized, forbidden
    }

    let token: String?
    /// The port actually bound, known once the server runs.
    let port: Port
    let refuse: @Sendable (Refusal, _ message: String) -> Response

    public init(token: String?, port: Port, refuse: @escaping @Sendable (Refusal, _ message: String) -> Response) {
        self.token = token
        self.port = port
        self.refuse = refuse
    }

    public final class Port: Sendable {
        private let value = Mutex(0)
        public init() {}
        public var number: Int { value.withLock { $0 } }
        public func set(_ number: Int) { value.withLock { $0 = number } }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority ?? ""
        var fromQuery = false
        if let token {
            let offered = Self.bearer(request) ?? Self.cookie(request)
            if offered.map({ Self.same($0, token) }) != true {
                guard let query = request.uri.queryParameters["token"].map(String.init), Self.same(query, token) else {
                    return refuse(.unauthorized, "this server needs its token: use the URL it printed (…?token=…), or send Authorization: Bearer TOKEN")
                }
                fromQuery = true
            }
        } else {
            let port = port.number
            let allowed = ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"]
            if !allowed.contains(host.lowercased()) {
                return refuse(.forbidden, "Host '\(host)' is not this server's loopback address; use http://127.0.0.1:\(port)/")
            }
        }
        if let origin = request.headers[.origin], origin.lowercased() != "http://\(host.lowercased())" {
            return refuse(.forbidden, "requests from the page at \(origin) are refused (another origin)")
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

/// Where a server listens, and the token it then needs.
public enum ListenAddress {
    /// Whether `host` only takes connections from this machine.
    public static func isLoopback(_ host: String) -> Bool {
        ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) || host.hasPrefix("127.")
    }

    /// A new token for a server on another address: 32 random bytes as hex, like Jupyter's.
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
