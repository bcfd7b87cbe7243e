import Foundation
import Hummingbird
import Logging
import MCP
import NIOCore
import ServerSupport

/// Where `qwen-agent mcp --http` listens.
public struct MCPHTTPSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8765
    /// Required of every request when set; the CLI sets one for any address but loopback.
    public var token: String?
    /// The endpoint's path.
    public static let path = "/mcp"

    public init() {}
}

extension AgentMCPServer {
    /// Serves MCP clients over streamable HTTP at `/mcp` until SIGINT or SIGTERM; `running` hears the
    /// port bound (useful with port 0). Each client that initializes gets an MCP session of its own
    /// (the SDK's stateful transport: `Mcp-Session-Id`, responses and notifications as Server-Sent
    /// Events); all of them share the desktop and the input tools' session.
    ///
    /// In front of every request: ``AccessCheck``, as for `serve` (the token off loopback, the Host on
    /// loopback, and no foreign `Origin`, the streamable-HTTP transport's DNS-rebinding rule).
    public func serveHTTP(_ http: MCPHTTPSettings, running: @escaping @Sendable (_ port: Int) -> Void) async throws {
        let bound = AccessCheck<BasicRequestContext>.Port()
        let sessions = HTTPSessions(agent: self)
        let router = Router()
        router.add(middleware: AccessCheck(token: http.token, port: bound) { refusal, message in
            HTTPSessions.response(for: .error(statusCode: refusal == .unauthorized ? 401 : 403, .invalidRequest(message)))
        })
        for method in [Hummingbird.HTTPRequest.Method.get, .post, .delete] {
            router.on(RouterPath(MCPHTTPSettings.path), method: method) { request, _ in
                let converted = try await HTTPSessions.request(from: request)
                return HTTPSessions.response(for: await sessions.handle(converted))
            }
        }
        var quiet = logger
        if logger.logLevel > .info { quiet.logLevel = .critical }
        let app = Application(router: router, configuration: .init(address: .hostname(http.host, port: http.port), serverName: "qwen-agent"),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? http.port
                                  bound.set(port)
                                  running(port)
                              }, logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            group.addTask {
                await StopSignal.next()
                // Stop what acts first, then end the sessions' streams, so that the HTTP server can close its connections.
                await windDown(reason: "the server was stopped (SIGINT or SIGTERM)")
                await sessions.closeAll()
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The MCP sessions of the HTTP clients, by `Mcp-Session-Id`: a request of a known session goes to its
/// transport; an `initialize` without one starts a new session.
actor HTTPSessions {
    private struct Session {
        let server: Server
        let transport: StatefulHTTPServerTransport
    }

    /// The largest request body: a `type` call's text, a `parse` call's model output.
    static let maxBodyBytes = 4 << 20

    private let agent: AgentMCPServer
    private var sessions: [String: Session] = [:]

    init(agent: AgentMCPServer) {
        self.agent = agent
    }

    func handle(_ request: MCP.HTTPRequest) async -> MCP.HTTPResponse {
        let sessionID = request.header(HTTPHeaderName.sessionID)
        if let sessionID, let session = sessions[sessionID] {
            let response = await session.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE" && response.statusCode == 200 { sessions[sessionID] = nil }
            return response
        }
        if let sessionID {
            return .error(statusCode: 404, .invalidRequest("no MCP session '\(sessionID)' (ended, or from before a restart): initialize a new one"))
        }
        guard request.method.uppercased() == "POST", let body = request.body, Self.isInitialize(body) else {
            return .error(statusCode: 400, .invalidRequest("no \(HTTPHeaderName.sessionID) header: start with an initialize request"))
        }
        let newID = UUID().uuidString
        // Host, Origin and the token are AccessCheck's; the rest of the SDK's checks stay.
        let transport = StatefulHTTPServerTransport(
            sessionIDGenerator: FixedSessionID(id: newID),
            validationPipeline: StandardValidationPipeline(validators: [
                AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(), SessionValidator(),
            ]),
            logger: agent.logger)
        do {
            let server = try await agent.start(transport: transport)
            let response = await transport.handleRequest(request)
            if case .error = response {
                await server.stop()
            } else {
                sessions[newID] = Session(server: server, transport: transport)
            }
            return response
        } catch {
            await transport.disconnect()
            return .error(statusCode: 500, .internalError("cannot start an MCP session: \(error)"))
        }
    }

    /// Ends every session, closing its streams.
    func closeAll() async {
        for session in sessions.values { await session.transport.disconnect() }
        sessions = [:]
    }

    private static func isInitialize(_ body: Data) -> Bool {
        (try? JSONDecoder().decode(MethodName.self, from: body))?.method == "initialize"
    }

    private struct MethodName: Decodable {
        var method: String?
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    // MARK: Hummingbird ↔ the SDK's HTTP types

    static func request(from request: Request) async throws -> MCP.HTTPRequest {
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = headers[field.name.canonicalName].map { "\($0), \(field.value)" } ?? field.value
        }
        let buffer = try await request.body.collect(upTo: maxBodyBytes)
        return MCP.HTTPRequest(method: request.method.rawValue, headers: headers,
                               body: buffer.readableBytes > 0 ? Data(buffer.readableBytesView) : nil, path: request.uri.path)
    }

    static func response(for response: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPFields.Element.Name(name) { fields.append(HTTPFields.Element(name: name, value: value)) }
        }
        let status = Hummingbird.HTTPResponse.Status(code: response.statusCode)
        switch response {
        case .stream(let events, _):
            return Response(status: status, headers: fields, body: ResponseBody { writer in
                do {
                    for try await chunk in events { try await writer.write(ByteBuffer(bytes: chunk)) }
                } catch is CancellationError {}
                try await writer.finish(nil)
            })
        default:
            return Response(status: status, headers: fields, body: response.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? .init())
        }
    }
}
