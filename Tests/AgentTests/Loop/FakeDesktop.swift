import Agent
import AgentCore
import Desktop
import Imaging
import Models
import Synchronization

/// An in-memory desktop for loop tests: a screen that actions repaint as a script says, input that
/// is only written down, and windows whose classes a test sets.
final class FakeDesktop: ScreenSource, InputSink, WindowInspector, Sendable {
    struct State {
        var screen: RGBImage
        var area: Rect
        /// The geometry, windows and focus the desktop reports: one window over the whole area, focused.
        var layout: ScreenLayout
        var performed: [ResolvedAction] = []
        var captures = 0
        var windowClass: String? = "FixtureApp"
    }

    /// The id of the window that covers the fake screen at first.
    static let appWindow: UInt = 0x400001

    var area: Rect { state.withLock { $0.area } }
    private let state: Mutex<State>
    /// How an action repaints the screen (nil: it changes nothing).
    private let paint: @Sendable (ResolvedAction, inout RGBImage) -> Void

    init(size: Size = Size(width: 200, height: 100), origin: Point = Point(x: 0, y: 0),
         paint: @escaping @Sendable (ResolvedAction, inout RGBImage) -> Void = FakeDesktop.markTarget) {
        let area = Rect(x: origin.x, y: origin.y, width: size.width, height: size.height)
        let screen = Size(width: origin.x + size.width, height: origin.y + size.height)
        state = Mutex(State(screen: RGBImage(width: size.width, height: size.height, fill: RGB(hex: 0x202020)), area: area,
                            layout: ScreenLayout(screen: screen, monitors: [area], windows: [.init(id: Self.appWindow, frame: area)],
                                                 focus: Self.appWindow)))
        self.paint = paint
    }

    /// Paints a bright square where the action aimed (a visible change near the target); typing and
    /// keys paint one more mark along the top row, as text appearing in a field would.
    static let markTarget: @Sendable (ResolvedAction, inout RGBImage) -> Void = { action, screen in
        guard let point = action.point else {
            let x = (0..<screen.width).first { screen[$0, 0] != RGB(hex: 0xFFFFFF) } ?? 0
            for dx in 0..<min(16, screen.width - x) { screen[x + dx, 0] = RGB(hex: 0xFFFFFF) }
            return
        }
        for y in max(0, point.y - 4)..<min(screen.height, point.y + 4) {
            for x in max(0, point.x - 4)..<min(screen.width, point.x + 4) { screen[x, y] = RGB(hex: 0xFFFFFF) }
        }
    }

    /// Actions change nothing.
    static let inert: @Sendable (ResolvedAction, inout RGBImage) -> Void = { _, _ in }

    var performed: [ResolvedAction] { state.withLock { $0.performed } }
    var captures: Int { state.withLock { $0.captures } }
    func setWindowClass(_ name: String?) { state.withLock { $0.windowClass = name } }
    /// Puts `image` (of the desktop's size) on the screen, as if the desktop had been repainted.
    func show(_ image: RGBImage) { state.withLock { $0.screen = image } }
    /// Changes the desktop as the outside world would: windows, focus, pixels, the screen's size.
    func change(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }

    func capture() async throws -> RGBImage {
        state.withLock { state in
            state.captures += 1
            return state.screen
        }
    }

    func perform(_ action: ResolvedAction) async throws {
        state.withLock { state in
            state.performed.append(action)
            paint(action, &state.screen)
        }
    }

    func followGeometry() async throws -> Rect {
        state.withLock { state in
            state.area = Rect(x: 0, y: 0, width: state.layout.screen.width, height: state.layout.screen.height)
            return state.area
        }
    }

    func layout() async throws -> ScreenLayout { state.withLock { $0.layout } }

    func drainSentEvents() async -> [SentInputEvent] { [] }
    func releaseAll() async {}
    func windowClass(at point: Point) async -> String? { state.withLock { $0.windowClass } }
    func focusedWindowClass() async -> String? { state.withLock { $0.windowClass } }
}

/// A model that never answers until its reader goes away: a silent server, a slow CPU prefill.
struct SilentModel: VisionLanguageModel {
    let identity = ModelIdentity(kind: .scripted, name: "silent")

    func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Keeps every conversation a model is sent, and answers from a script, each reply in one piece
/// (optionally with a cost that says how it ended). Nothing runs on the concurrency pool.
final class RecordingModel: VisionLanguageModel, Sendable {
    let identity: ModelIdentity
    private let replies: [String]
    private let finish: ModelCall.Finish?
    /// Runs before the reply to the n-th call (0-based): the world changing while the model thinks.
    private let beforeReply: @Sendable (Int) -> Void
    private let sent = Mutex<[[ChatMessage]]>([])

    init(_ replies: [String], name: String = "recording", finish: ModelCall.Finish? = nil, beforeReply: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.replies = replies
        identity = ModelIdentity(kind: .scripted, name: name)
        self.finish = finish
        self.beforeReply = beforeReply
    }

    var conversations: [[ChatMessage]] { sent.withLock { $0 } }

    func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        let index = sent.withLock { sent in
            sent.append(conversation)
            return sent.count - 1
        }
        let (replies, finish) = (replies, finish)
        beforeReply(index)
        return AsyncThrowingStream { continuation in
            guard index < replies.count else {
                continuation.finish(throwing: ModelError(.exhausted, "the recording model has only \(replies.count) replies"))
                return
            }
            continuation.yield(.text(replies[index]))
            if let finish { continuation.yield(.cost(ModelCall(finish: finish))) }
            continuation.finish()
        }
    }
}

/// A Qwen3-VL Thinking reply with one computer_use call.
func thinkingReply(_ arguments: String, action: String = "Do the next thing.") -> String {
    "I look at the screen.\n</think>\n\nAction: \(action)\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": \(arguments)}\n</tool_call>"
}
