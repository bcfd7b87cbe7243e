import Agent
import AgentCore
import Foundation
import Imaging
import Logging
import Models
import Synchronization
import Testing

/// The check between what the model saw and the input sent for it, over the in-memory desktop: the
/// world changes while the model thinks (``RecordingModel``'s `beforeReply`), and the loop must not
/// act blind.
@Suite("The loop never acts on a screen that changed after the model saw it")
struct StaleScreenLoopTests {
    static let done = thinkingReply(#"{"action": "terminate", "status": "success"}"#, action: "Done.")
    static let type = thinkingReply(#"{"action": "type", "text": "secret plan"}"#, action: "Type into the field.")
    static let dialog: UInt = 0x600001

    /// Runs `replies` on `desktop` with a session, changing the desktop before the first reply; the
    /// session comes back read, and as `show` renders it.
    static func run(_ replies: [String], on desktop: FakeDesktop, change: @escaping @Sendable (inout FakeDesktop.State) -> Void,
                    options: RunOptions = AgentLoopTests.fast) async throws -> (Outcome, RecordingModel, SessionLog, report: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let recorder = try SessionRecorder(
            directory: folder, header: SessionHeader(task: "t", profile: "p", model: RecordedModel(kind: "scripted", name: "x"), display: ":0",
                                                     area: desktop.area, coordinateSpace: .relative1000, shape: .thinking))
        let model = RecordingModel(replies) { index in if index == 0 { desktop.change(change) } }
        let outcome = try await AgentLoopTests.run(model, on: desktop, options: options, recorder: recorder)
        let log = try SessionLog.read(folder)
        return (outcome, model, log, SessionReport(log).html)
    }

    @Test func aClickWhoseWindowClosedIsNotSentTheModelIsToldAndTheRunGoesOn() async throws {
        let desktop = FakeDesktop()
        let (outcome, model, log, report) = try await Self.run([AgentLoopTests.click, AgentLoopTests.click, Self.done], on: desktop) { state in
            state.layout.windows = []
            state.screen = RGBImage(width: 200, height: 100, fill: RGB(hex: 0x3060A0)) // the desktop behind it
        }
        #expect(outcome == .success(answer: nil))
        #expect(desktop.performed.count == 1, "only the click made after looking again")
        let told = try AgentLoopTests.lastTurn(model, call: 2)
        #expect(told.contains("The screen changed before left_click (250, 500) was performed: the window at that point closed"), "\(told)")
        #expect(!told.contains("0x"), "no window ids for the model")
        let refused = try #require(log.steps.first?.refused)
        #expect(refused.reason == "window_closed" && refused.action.action == "left_click" && refused.detail.contains("0x400001"))
        #expect(log.steps.first?.performed.isEmpty == true && log.steps.count == 3)
        #expect(report.contains("<td>not performed</td><td>left_click at (50, 50): the screen changed after the model saw it (window_closed)"), "show tells it")
    }

    @Test func aClickWhoseWindowMovedIsNotSent() async throws {
        let desktop = FakeDesktop()
        let (outcome, model, log, _) = try await Self.run([AgentLoopTests.click, Self.done], on: desktop) { state in
            state.layout.windows[0].frame.origin.x += 30
        }
        #expect(outcome == .success(answer: nil) && desktop.performed.isEmpty)
        #expect(try AgentLoopTests.lastTurn(model, call: 2).contains("the window at that point moved or changed size"))
        #expect(log.steps.first?.refused?.reason == "window_moved")
    }

    @Test func typingAfterADialogTookTheFocusIsNotSent() async throws {
        let desktop = FakeDesktop()
        let (outcome, model, log, _) = try await Self.run([Self.type, Self.done], on: desktop) { state in
            state.layout.windows.append(.init(id: Self.dialog, frame: Rect(x: 60, y: 20, width: 80, height: 40)))
            state.layout.focus = Self.dialog
        }
        #expect(outcome == .success(answer: nil) && desktop.performed.isEmpty, "the text meant for the main window went nowhere")
        #expect(try AgentLoopTests.lastTurn(model, call: 2).contains("The screen changed before type \"secret plan\" was performed: the keyboard focus moved"))
        #expect(log.steps.first?.refused?.reason == "focus_moved")
    }

    @Test func aResolutionChangeRebuildsTheMappingBeforeTheNextClick() async throws {
        let desktop = FakeDesktop()
        let larger = Size(width: 400, height: 300)
        let (outcome, model, log, _) = try await Self.run([AgentLoopTests.click, AgentLoopTests.click, Self.done], on: desktop) { state in
            state.layout.screen = larger
            state.layout.monitors = [Rect(x: 0, y: 0, width: larger.width, height: larger.height)]
            state.layout.windows = [.init(id: FakeDesktop.appWindow, frame: Rect(x: 0, y: 0, width: larger.width, height: larger.height))]
            state.screen = RGBImage(width: larger.width, height: larger.height, fill: RGB(hex: 0x202020))
        }
        #expect(outcome == .success(answer: nil))
        #expect(log.steps.first?.refused?.reason == "screen_geometry_changed")
        #expect(try AgentLoopTests.lastTurn(model, call: 2).contains("the screen's resolution or monitor layout changed"))
        let expected = try CoordinateMapping(space: .relative1000, imageSize: larger).screenPoint(for: ModelPoint(x: 250, y: 500))
        #expect(desktop.performed.map(\.point) == [expected], "the click after the change lands on the new screen's (250, 500)")
        #expect(desktop.area.size == larger)
    }

    @Test func aTargetRepaintedWhileTheModelThoughtIsNotClickedButABlinkingCursorIs() async throws {
        let target = Point(x: 50, y: 50)
        let repainted = FakeDesktop()
        let (_, _, log, _) = try await Self.run([AgentLoopTests.click, Self.done], on: repainted) { state in
            for y in 40..<60 { for x in 40..<60 { state.screen[x, y] = RGB(hex: 0xFFD000) } }
        }
        #expect(repainted.performed.isEmpty && log.steps.first?.refused?.reason == "pixels_changed")

        let blinking = FakeDesktop()
        let (outcome, _, cursorLog, _) = try await Self.run([AgentLoopTests.click, Self.done], on: blinking) { state in
            for y in 42..<58 { state.screen[target.x + 3, y] = RGB(hex: 0xFFFFFF) }
        }
        #expect(outcome == .success(answer: nil) && blinking.performed.count == 1 && cursorLog.steps.first?.refused == nil)
    }

    @Test func aScreenThatKeepsChangingEndsTheRunWithTheReason() async throws {
        let desktop = FakeDesktop()
        let focus = Mutex<UInt>(0x700000)
        let model = RecordingModel(Array(repeating: Self.type, count: 5)) { _ in
            // Every time the model thinks, another window takes the focus.
            let next = focus.withLock { value in
                value += 1
                return value
            }
            desktop.change { $0.layout.focus = next }
        }
        let outcome = try await AgentLoopTests.run(model, on: desktop)
        guard case .error(let reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.hasPrefix("the screen kept changing under the agent: 3 actions in a row were not performed"), "\(reason)")
        #expect(desktop.performed.isEmpty && model.conversations.count == 3)
    }

    @Test func laterActionsOfAStepOnlyCheckTheGeometry() async throws {
        let desktop = FakeDesktop()
        let twoClicks = "Two clicks.\n</think>\n\nAction: Open the menu and pick.\n"
            + "<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [250, 500]}}\n</tool_call>\n"
            + "<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [600, 500]}}\n</tool_call>"
        let model = RecordingModel([twoClicks, Self.done]) { index in
            guard index == 0 else { return }
            desktop.change { $0.layout.windows.append(.init(id: 0x800001, frame: Rect(x: 100, y: 30, width: 60, height: 40))) }
        }
        // A window appears while the model thinks, not under the first target but under the second: the
        // first click is checked and sent; the second may meet what the first opened, so only a
        // geometry change would stop it.
        let outcome = try await AgentLoopTests.run(model, on: desktop)
        #expect(outcome == .success(answer: nil) && desktop.performed.count == 2)
    }
}
