import Agent
import AgentCore
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("The session recorder on a full disk and in a folder the user made")
struct SessionRecorderFaultTests {
    static func header() -> SessionHeader {
        SessionHeader(task: "t", profile: "p", model: RecordedModel(kind: "scripted", name: "x"), display: ":0",
                      area: Rect(x: 0, y: 0, width: 8, height: 8), coordinateSpace: .relative1000, shape: .thinking)
    }

    /// Steps with long outputs until the disk is full: the append that fails says why, and the log
    /// holds only whole lines (the torn part is cut off), which read back as every step before it.
    @Test func aFullDiskCutsTheTornLineAndKeepsEveryWholeOne() throws {
        try withTmpfs(size: "64k") { disk in
            let recorder = try SessionRecorder(directory: disk.appendingPathComponent("s"), header: Self.header())
            var appended = 0
            var failure: SessionError?
            for step in 1...100 {
                do throws(SessionError) {
                    try recorder.append(StepRecord(step: step, frames: .init(before: "frames/x.png"), output: String(repeating: "reasoning ", count: 300),
                                                   status: "ok", plan: PlanRecord(status: "ok", actions: []), performed: []))
                    appended += 1
                } catch {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "64 KB fills before 100 steps of 3 KB")
            #expect(error.message.contains("cannot append to") && error.message.contains("No space left on device"), "\(error.message)")
            let log = try Data(contentsOf: recorder.directory.appendingPathComponent(SessionFormat.logName))
            #expect(log.last == 0x0A)
            let session = try SessionLog.read(recorder.directory)
            #expect(session.warnings.isEmpty, "\(session.warnings)")
            #expect(session.steps.count == appended)
        }
    }

    /// A folder the user made for the session (empty, mode 0755) is made private like a new one.
    @Test func anExistingEmptyFolderBecomesPrivate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("open-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try SessionRecorder(directory: folder, header: Self.header())
        let mode = try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o777 } == 0o700)
    }
}
