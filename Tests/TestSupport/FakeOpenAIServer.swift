import AsyncHTTPClient
import Desktop
public import Foundation
import Logging
import Models
import NIOCore
import TestSupportCore

/// `fake_openai_server.py` on a loopback port: one per test, so its per-model counters belong to that test.
public final class FakeOpenAIServer: Sendable {
    public static let apiKey = "sk-test-7f3a9c1e5b2d4f60"

    public let port: Int
    private let process: ChildProcess

    public var endpoint: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    public struct Stats: Decodable {
        public let attempts: [String: Int]
        public let disconnected: [String]
    }

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts a server, waiting for its port on a thread of its own: many tests start one at once, and
    /// blocking reads on the task pool's few threads would stall every other test meanwhile.
    public static func start() async throws -> FakeOpenAIServer {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try FakeOpenAIServer() }) }
        }
    }

    private init() throws {
        guard let python = Self.find("python3") else { throw StartFailure(description: "python3 is not on PATH; the fake server needs it") }
        let script = Repository.root.appendingPathComponent("Tests/TestSupport/fake_openai_server.py")
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw StartFailure(description: "pipe: \(String(cString: strerror(errno)))") }
        defer { close(ends[0]) }
        do {
            process = try ChildProcess(python, arguments: [script.path, Self.apiKey], environment: ProcessInfo.processInfo.environment,
                                       stdout: .descriptor(ends[1]))
            close(ends[1])
        } catch {
            close(ends[1])
            throw StartFailure(description: error.description)
        }
        // The port is the first line; the read ends early only if the server dies first.
        var firstLine = [UInt8](), byte: UInt8 = 0
        while byte != UInt8(ascii: "\n"), read(ends[0], &byte, 1) == 1 { firstLine.append(byte) }
        guard let port = Int(String(decoding: firstLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.signal(SIGKILL)
            process.wait()
            throw StartFailure(description: "\(script.path) did not print its port (it printed \(String(decoding: firstLine, as: UTF8.self).debugDescription))")
        }
        self.port = port
    }

    /// SIGKILL and reap: nothing the server could do on a gentler signal matters to a test.
    public func stop() {
        process.signal(SIGKILL)
        process.wait()
    }

    public func stats() async throws -> Stats {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/stats"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode(Stats.self, from: Data(body.readableBytesView))
    }

    public func attempts(_ model: String) async throws -> Int {
        try await stats().attempts[model] ?? 0
    }

    /// How long to wait for what the client does in the background (closing a request); waits end as
    /// soon as the thing happens.
    public static let patience: Duration = .seconds(10)

    /// Whether the server saw the client hang up on `model`'s stream within `limit`.
    public func sawDisconnect(_ model: String, within limit: Duration = patience) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await stats().disconnected.contains(model) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private static func find(_ program: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}

/// Runs `body` against a fresh fake server, and kills the server afterwards whatever happens.
public func withFakeServer<T>(_ body: (FakeOpenAIServer) async throws -> T) async throws -> T {
    let server = try await FakeOpenAIServer.start()
    defer { server.stop() }
    return try await body(server)
}

