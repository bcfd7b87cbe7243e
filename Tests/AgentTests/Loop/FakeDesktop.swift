import Agent
import Desktop
import Imaging
import Models
import Synchronization

/// An in-memory desktop for loop tests: a screen that actions repaint as a script says, input that
/// is only written down, and windows whose classes a test sets.
final class FakeDesktop: ScreenSource, InputSink, WindowInspector, Sendable {
    struct State {
        var screen: RGBImage
        var performed: [ResolvedAction] = []
        var captures = 0
        var windowClass: String? = "FixtureApp"
    }

    let area: Rect
    private let state: Mutex<State>
    /// How an action repaints the screen (nil: it changes nothing).
    private let paint: @Sendable (ResolvedAction, inout RGBImage) -> Void

    init(size: Size = Size(width: 200, height: 100), origin: Point = Point(x: 0, y: 0),
         paint: @escaping @Sendable (ResolvedAction, inout RGBImage) -> Void = FakeDesktop.markTarget) {
        area = Rect(x: origin.x, y: origin.y, width: size.width, height: size.height)
        state = Mutex(State(screen: RGBImage(width: size.width, height: size.height, fill: RGB(hex: 0x202020))))
        self.paint = paint
    }

    /// Paints a bright square where the action aimed: a visible change near the target.
    static let markTarget: @Sendable (ResolvedAction, inout RGBImage) -> Void = { action, screen in
        guard let point = action.point else { return }
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

/// Keeps every conversation a model is sent, and answers from a script.
final class RecordingModel: VisionLanguageModel, Sendable {
    let identity: ModelIdentity
    private let replies: ScriptedModel
    private let sent = Mutex<[[ChatMessage]]>([])

    /// How each reply says it ended, in its cost (nil: no cost is sent).
    private let finish: ModelCall.Finish?

    init(_ replies: [String], name: String = "recording", finish: ModelCall.Finish? = nil) {
        self.replies = ScriptedModel(responses: replies, name: name)
        identity = ModelIdentity(kind: .scripted, name: name)
        self.finish = finish
    }

    var conversations: [[ChatMessage]] { sent.withLock { $0 } }

    func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        sent.withLock { $0.append(conversation) }
        guard let finish else { return replies.generate(conversation, settings: settings) }
        let (stream, output) = AsyncThrowingStream.makeStream(of: ModelEvent.self)
        let script = replies
        Task {
            do {
                for try await event in script.generate(conversation, settings: settings) { output.yield(event) }
                output.yield(.cost(ModelCall(finish: finish)))
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        return stream
    }
}

/// A Qwen3-VL Thinking reply with one computer_use call.
func thinkingReply(_ arguments: String, action: String = "Do the next thing.") -> String {
    "I look at the screen.\n</think>\n\nAction: \(action)\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": \(arguments)}\n</tool_call>"
}
