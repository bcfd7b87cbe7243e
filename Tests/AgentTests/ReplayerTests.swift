import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import Synchronization
import TestSupport
import Testing
import TestSupportCore

/// The replayer on an in-memory desktop, with the committed version-1 sessions (Fixtures/Sessions):
/// it says exactly what it checked and sent, compares typing where the text appeared, never re-grounds
/// a step that sends nothing, and compares the final screen with the recording.
@Suite("Replayer: checks what it says it checks")
struct ReplayerTests {
    /// A committed session copied to a temporary folder: replay writes its mismatch pictures into it.
    struct Session {
        let log: SessionLog

        init(_ name: String) throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replayer-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Sessions/\(name)"), to: folder)
            log = try SessionLog.read(folder)
        }

        func frame(_ step: Int, _ which: String) throws -> RGBImage {
            try PNG.read(from: log.directory.appendingPathComponent(String(format: "frames/step-%04d-\(which).png", step)))
        }

        func remove() { try? FileManager.default.removeItem(at: log.directory) }

        /// A desktop showing step `step`'s before frame; each action shows the after frame recorded for
        /// it (`follows`), or changes nothing.
        func desktop(showing step: Int, follows: Bool) throws -> FakeDesktop {
            var afters: [String: RGBImage] = [:]
            for record in log.steps {
                guard let after = record.frames.after, let action = record.performed.first?.description else { continue }
                afters[action] = try PNG.read(from: log.directory.appendingPathComponent(after))
            }
            let recorded = afters
            let desktop = FakeDesktop(size: Size(width: 1280, height: 800)) { action, screen in
                // Typed text is recorded masked; the replay types the secret.
                if follows, let after = recorded[action.description.replacingOccurrences(of: "pw", with: "••••••")] { screen = after }
            }
            desktop.show(try frame(step, "before"))
            return desktop
        }
    }

    /// What the replayer said, line by line.
    final class Transcript: @unchecked Sendable {
        var lines: [String] = []
        func say(_ line: String) { lines.append(line) }
    }

    func replay(_ session: Session, on desktop: FakeDesktop, _ options: Replayer.Options, transcript: Transcript = Transcript(),
                healer: Replayer.Healer? = nil) async throws -> Replayer.Result {
        let replayer = Replayer(session: session.log, screen: desktop, input: desktop, logger: testLogger, say: transcript.say)
        return try await replayer.run(options, healer: healer)
    }

    @Test func aDryRunSaysItCheckedOneStepAndSentNothing() async throws {
        let session = try Session("v1-agent-run")
        defer { session.remove() }
        let desktop = try session.desktop(showing: 2, follows: true)
        var options = Replayer.Options()
        options.dryRun = true
        options.secret = "pw"
        let transcript = Transcript()
        let result = try await replay(session, on: desktop, options, transcript: transcript)
        #expect(result.ending == .completed)
        // Five steps: one without an action, three that send input (only the first can be checked), a terminate.
        #expect((result.steps, result.checked, result.sent, result.healed) == (5, 1, 0, 0))
        #expect(result.finalSimilarity == nil, "nothing was sent, so the final screen is not the recording's")
        #expect(desktop.performed.isEmpty)
        #expect(transcript.lines.filter { $0.contains("not checked") }.count == 2, "\(transcript.lines)")
    }

    @Test func typingIsComparedWhereTheTextAppearedWhenRecorded() async throws {
        let session = try Session("v1-demonstration")
        defer { session.remove() }
        var options = Replayer.Options()
        (options.from, options.to) = (2, 2)
        // The field already holds the text: the screen is the same but for a few dozen pixels, so a
        // whole-screen comparison (0.99) would type it a second time.
        let filled = try session.desktop(showing: 2, follows: true)
        filled.show(try session.frame(2, "after"))
        let transcript = Transcript()
        let result = try await replay(session, on: filled, options, transcript: transcript)
        guard case .mismatch(let step, let similarity, let picture) = result.ending else {
            Issue.record("expected a mismatch, got \(result.ending)")
            return
        }
        #expect(step == 2 && similarity < 0.9, "\(similarity)")
        #expect(filled.performed.isEmpty, "nothing was typed")
        #expect(transcript.lines.contains { $0.contains("where the recording changed the screen") }, "\(transcript.lines)")
        try expectLabelled(picture, width: 1280, height: 800)

        // On the screen as recorded the same step matches exactly, is typed, and ends as recorded.
        let empty = try session.desktop(showing: 2, follows: true)
        let replayed = try await replay(session, on: empty, options)
        #expect(replayed.ending == .completed)
        #expect((replayed.checked, replayed.sent, replayed.finalSimilarity) == (1, 1, 1.0))
        #expect(empty.performed.map(\.description) == ["type \"Grüße\""])
    }

    @Test func healingNeverReGroundsAStepThatSendsNothing() async throws {
        let session = try Session("v1-agent-run")
        defer { session.remove() }
        // The click on Log out does nothing now, so the terminate step's screen is not the recorded one.
        let desktop = try session.desktop(showing: 4, follows: false)
        var options = Replayer.Options()
        options.from = 4
        let asked = Mutex(0)
        let result = try await replay(session, on: desktop, options) { _, _ in
            asked.withLock { $0 += 1 }
            return []
        }
        #expect(asked.withLock { $0 } == 0, "the model was not asked to re-ground the terminate step")
        #expect(desktop.performed.map(\.description) == ["left_click at (669, 116)"])
        #expect((result.steps, result.checked, result.sent) == (2, 1, 1))
        // Still signed in, not on the recording's sign-in screen: the replay did not end as recorded.
        guard case .finalMismatch(let similarity, let picture) = result.ending else {
            Issue.record("expected a final mismatch, got \(result.ending)")
            return
        }
        #expect(similarity < 0.9 && result.finalSimilarity == similarity)
        #expect(picture.lastPathComponent == "replay-mismatch-final.png")
        try expectLabelled(picture, width: 1280, height: 800)
    }

    @Test func aReplayThatEndsAsRecordedSaysHowClosely() async throws {
        let session = try Session("v1-agent-run")
        defer { session.remove() }
        let desktop = try session.desktop(showing: 2, follows: true)
        var options = Replayer.Options()
        options.from = 2
        options.secret = "pw"
        let transcript = Transcript()
        let result = try await replay(session, on: desktop, options, transcript: transcript)
        #expect(result.ending == .completed)
        #expect((result.steps, result.checked, result.sent, result.healed) == (4, 3, 3, 0))
        #expect(result.finalSimilarity == 1.0)
        #expect(desktop.performed.map(\.description) == ["left_click at (419, 196)", "type \"pw\"", "left_click at (669, 116)"])
        #expect(transcript.lines.last?.hasPrefix("final screen: similarity 1.000") == true, "\(transcript.lines)")
    }

    /// A mismatch picture: "RECORDED" over the left half, "LIVE" over the right, the screens below.
    func expectLabelled(_ picture: URL, width: Int, height: Int) throws {
        let image = try PNG.read(from: picture)
        #expect(image.size == Size(width: 2 * width + 8, height: height + 28))
        var expected = RGBImage(width: image.width, height: 28, fill: RGB(hex: 0xFFFFFF))
        expected.drawLabel("recorded", at: Point(x: 4, y: 4), color: RGB(hex: 0x333333))
        expected.drawLabel("live", at: Point(x: width + 12, y: 4), color: RGB(hex: 0x333333))
        #expect(image.cropped(to: Rect(x: 0, y: 0, width: image.width, height: 28)).pixels == expected.pixels)
    }
}
