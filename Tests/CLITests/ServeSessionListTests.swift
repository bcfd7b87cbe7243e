import Desktop
import Foundation
import TestSupport
import TestSupportCore
import Testing

/// The Sessions tab's list reads the ends of each log, not the whole file.
@Suite("qwen-agent serve: the session list")
struct ServeSessionListTests {
    /// A long run's log of tens of MB beside a short one: the list has both, newest first, with the
    /// right step counts and outcomes, and serving it reads a small part of the bytes
    /// (`rchar` of /proc/PID/io, every byte the server's read calls returned).
    @Test func theListReadsOnlyTheEndsOfEachLog() throws {
        let sessions = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: sessions, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: sessions) }
        let fixture = Repository.fixtures.appendingPathComponent("Sessions/v1-agent-run")
        try FileManager.default.copyItem(at: fixture, to: sessions.appendingPathComponent("short-run"))

        let lines = try String(contentsOf: fixture.appendingPathComponent("session.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].replacingOccurrences(of: "2026-11-29T19:43:08.105Z", with: "2026-11-29T20:00:00.000Z")
        let step = try #require(lines.first { $0.contains("\"step\":2,") }, "a step line to repeat")
        let longRun = sessions.appendingPathComponent("long-run")
        try FileManager.default.createDirectory(at: longRun, withIntermediateDirectories: true)
        var log = Data((header + "\n").utf8)
        let steps = 40_000
        for number in 1...steps { log.append(contentsOf: step.replacingOccurrences(of: "\"step\":2,", with: "\"step\":\(number),").utf8 + [0x0A]) }
        log.append(contentsOf: Array(lines.last!.utf8) + [0x0A])
        try log.write(to: longRun.appendingPathComponent("session.jsonl"))
        #expect(log.count > 20 << 20, "the long log is \(log.count) bytes")

        let server = try ServeProcess(["--transcript", ServeTaskTests.transcript, "--sessions", sessions.path])
        let before = try readCharacters(of: server)
        let list = try curl(server.base + "/api/sessions", timeout: 30)
        let read = try readCharacters(of: server) - before
        #expect(list.status == 200, "\(list.body)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]], "\(list.body)")
        #expect(entries.map { $0["name"] as? String ?? "" } == ["long-run", "short-run"], "newest first: \(entries)")
        #expect(entries.map { $0["steps"] as? Int ?? 0 } == [steps, 5] && entries.allSatisfy { $0["outcome"] as? String == "success" }, "\(entries)")
        #expect(read < 1 << 20, "the list read \(read) bytes of a \(log.count)-byte log")
        #expect(server.stop() == 0)
    }

    /// The bytes the process's read calls have returned so far.
    private func readCharacters(of server: ServeProcess) throws -> Int {
        let io = try String(contentsOfFile: "/proc/\(server.process.pid)/io", encoding: .utf8)
        let line = try #require(io.split(separator: "\n").first { $0.hasPrefix("rchar:") })
        return try #require(Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)))
    }
}
