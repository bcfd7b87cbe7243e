import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import Models
import Synchronization
import TestSupport
import TestSupportCore
import Testing

/// The screen changes under a real run on a real X server, at the worst moment: after the model was
/// shown the screenshot and before its action is sent. The model below makes the change itself
/// before it answers, so the timing is the same on every run.
@Suite("Real runs never act blind when the screen changes while the model thinks")
struct ScreenFaultTests {
    /// Runs a task on `display` with `model`; the session's log comes back with the outcome.
    static func run(_ model: WorldChangingModel, on display: VirtualDisplay) async throws -> (Outcome, SessionLog) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("screen-fault-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = LiveRun.Settings()
        settings.display = display.name
        settings.sessionDirectory = folder
        settings.options.settleCeiling = .seconds(2)
        let seat = ModelSeat(profile: try AgentLoopTests.profile(), model: model)
        let outcome = try await LiveRun(task: "press the button", models: .one(seat), settings: settings).run(events: AgentEvents(), logger: testLogger)
        return (outcome, try SessionLog.read(folder))
    }

    /// A reply that clicks the middle of `rect` (root pixels) on a screen of `screen`, on Qwen3-VL's 0–1000 grid.
    static func click(_ rect: Rect, screen: Size) -> String {
        let x = (Double(rect.x) + Double(rect.width) / 2) * 1000 / Double(screen.width)
        let y = (Double(rect.y) + Double(rect.height) / 2) * 1000 / Double(screen.height)
        return thinkingReply("{\"action\": \"left_click\", \"coordinate\": [\(Int(x)), \(Int(y))]}", action: "Click the button.")
    }

    static let done = StaleScreenLoopTests.done
    static let screen = Size(width: 1280, height: 800)

    static func presses(_ app: FixtureApp) -> [FixtureEvent] { app.events().filter { $0.event == "button_press" } }

    @Test func aClickWhoseWindowClosedNeverReachesTheWindowBehindIt() async throws {
        let virtual = try VirtualDisplay(logger: testLogger)
        defer { virtual.stop() }
        let behind = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80), focus: false)
        let front = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
        try front.waitForEvents { $0.contains { $0.event == "focus_in" } }
        nonisolated(unsafe) let closing = front
        let name = virtual.name
        let model = WorldChangingModel([Self.click(front.widget("ok").rect, screen: Self.screen), Self.done]) { call in
            guard call == 0 else { return }
            closing.process.terminate()
            let display = try Display(name: name, logger: testLogger)
            try waitUntil("the front window is gone") { display.topLevelWindows().count == 1 }
        }
        let (outcome, log) = try await Self.run(model, on: virtual)
        #expect(outcome == .success(answer: nil))
        #expect(Self.presses(behind).isEmpty, "the click meant for the closed window did not land on the one behind it")
        #expect(log.steps.first?.refused?.reason == "window_closed" && log.steps.first?.performed.isEmpty == true)
    }

    @Test func aWindowMovedWhileTheModelThoughtIsClickedWhereItIsNow() async throws {
        let virtual = try VirtualDisplay(logger: testLogger)
        defer { virtual.stop() }
        let behind = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80), focus: false)
        let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
        try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
        let moved = Point(x: 520, y: 330)
        var ok = app.widget("ok").rect
        let window = try OtherClient.window(at: app.origin, on: try Display(name: virtual.name, logger: testLogger)) // the topmost there
        nonisolated(unsafe) let display = virtual
        let stale = Self.click(ok, screen: Self.screen)
        ok.origin = Point(x: ok.x + moved.x - app.origin.x, y: ok.y + moved.y - app.origin.y)
        let model = WorldChangingModel([stale, Self.click(ok, screen: Self.screen), Self.done]) { call in
            if call == 0 { OtherClient.move(window: window.id, to: moved, on: display) }
        }
        let (outcome, log) = try await Self.run(model, on: virtual)
        #expect(outcome == .success(answer: nil))
        #expect(log.steps.first?.refused?.reason == "window_moved")
        #expect(Self.presses(behind).isEmpty, "nothing reached the old place, where the window behind now shows")
        let presses = Self.presses(app)
        #expect(presses.count == 1, "one click, after looking again: \(presses.map(\.summary))")
        #expect(presses.allSatisfy { ok.contains(Point(x: $0.rootX ?? -1, y: $0.rootY ?? -1)) }, "\(presses.map(\.summary))")
    }

    @Test func aDialogThatTookTheFocusDoesNotGetTheTextMeantForTheMainWindow() async throws {
        let virtual = try VirtualDisplay(logger: testLogger)
        defer { virtual.stop() }
        let main = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
        try main.waitForEvents { $0.contains { $0.event == "focus_in" } }
        let opened = Opened()
        nonisolated(unsafe) let display = virtual
        let type = thinkingReply(#"{"action": "type", "text": "meant for the main window"}"#, action: "Type the text.")
        let model = WorldChangingModel([type, Self.done]) { call in
            guard call == 0 else { return }
            let dialog = try FixtureApp(on: display, origin: Point(x: 400, y: 250))
            try dialog.waitForEvents { $0.contains { $0.event == "focus_in" } }
            opened.dialog = dialog
        }
        let (outcome, log) = try await Self.run(model, on: virtual)
        #expect(outcome == .success(answer: nil))
        #expect(log.steps.first?.refused?.reason == "focus_moved")
        let dialog = try #require(opened.dialog)
        #expect(!dialog.events().contains { $0.event == "key_press" }, "the dialog got none of the text")
        #expect(!main.events().contains { $0.event == "key_press" } && (main.fieldValue() ?? "").isEmpty)
    }

    /// Xvfb's screen cannot change size; Xephyr's can (`xrandr -s`), so this run is on an Xephyr nested in an Xvfb.
    @Test func aResolutionChangeIsFollowedAndTheNextClickLandsOnTheNewScreen() async throws {
        let host = try VirtualDisplay(size: Size(width: 1600, height: 1000), logger: testLogger)
        defer { host.stop() }
        let nested = try VirtualDisplay(nestedIn: host, size: Self.screen, logger: testLogger)
        defer { nested.stop() }
        let app = try FixtureApp(on: nested, origin: Point(x: 100, y: 80))
        try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
        let smaller = Size(width: 1024, height: 768)
        let logout = app.widget("logout").rect
        nonisolated(unsafe) let display = nested
        let xrandr = try #require(VirtualDisplay.findExecutable("xrandr"))
        let model = WorldChangingModel([Self.click(logout, screen: Self.screen), Self.click(logout, screen: smaller), Self.done]) { call in
            guard call == 0 else { return }
            _ = try display.launch(xrandr, arguments: ["-s", "\(smaller.width)x\(smaller.height)"]).wait(timeout: 20)
            let connection = try Display(name: display.name, logger: testLogger)
            try waitUntil("the screen is \(smaller)") { try connection.screenSize() == smaller }
        }
        let (outcome, log) = try await Self.run(model, on: nested)
        #expect(outcome == .success(answer: nil))
        #expect(log.steps.first?.refused?.reason == "screen_geometry_changed", "\(log.steps.first?.refused?.detail ?? "no refusal")")
        let presses = Self.presses(app)
        #expect(presses.count == 1 && presses.allSatisfy { logout.contains(Point(x: $0.rootX ?? -1, y: $0.rootY ?? -1)) },
                "one click, on the button, mapped through the new screen: \(presses.map(\.summary))")
    }
}

/// The dialog a model's change opened: set on the change's thread before the reply, read after the run.
private final class Opened: @unchecked Sendable {
    var dialog: FixtureApp?
}

/// Answers from a script, but first changes the desktop (on a thread of its own: X calls and
/// waiting for their effect block), as the world would while a model thinks.
final class WorldChangingModel: VisionLanguageModel, Sendable {
    let identity = ModelIdentity(kind: .scripted, name: "world-changing")
    private let replies: [String]
    private let change: @Sendable (Int) throws -> Void
    private let calls = Mutex(0)

    init(_ replies: [String], change: @escaping @Sendable (_ call: Int) throws -> Void) {
        self.replies = replies
        self.change = change
    }

    func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        let call = calls.withLock { count in
            defer { count += 1 }
            return count
        }
        let (replies, change) = (replies, change)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    guard call < replies.count else { throw ModelError(.exhausted, "the script has only \(replies.count) replies") }
                    try await onOwnThread { try change(call) }
                    continuation.yield(.text(replies[call]))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
