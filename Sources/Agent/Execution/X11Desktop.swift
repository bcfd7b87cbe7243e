public import AgentCore
public import Desktop
import Foundation
public import Imaging

/// The desktop the agent works on, over one X connection: screenshots, XTest input and window facts.
///
/// Design note: **one owner per X connection.** The connection, its capturer and its input
/// controller belong to this actor, and the actor runs on a thread of its own (``DedicatedThread``),
/// not on the concurrency pool. XTest input paces its events with short sleeps (key gaps, button
/// holds, drag steps; typing 2,000 characters takes seconds), and those sleeps must not hold one of
/// the pool's few threads while the model's reply, the abort watch and the step's time limit await
/// on it. Callers simply `await`; everything that waits *between* actions (settling, `wait`,
/// `--confirm`) is the loop's, and is cancellable.
public actor X11Desktop: ScreenSource, InputSink, WindowInspector {
    private let thread: DedicatedThread
    nonisolated public var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }

    nonisolated public let area: Rect
    private let display: Display
    private let capturer: ScreenCapturer
    private let input: InputController
    private let executor: Executor

    /// Takes over `display` and `input` (built on it): use them only through this actor from now on.
    public init(display: Display, input: InputController, area: Rect) {
        thread = DedicatedThread(name: "qwen-agent X \(display.name)")
        self.display = display
        self.area = area
        capturer = ScreenCapturer(display: display)
        self.input = input
        executor = Executor(input: input)
    }

    deinit { thread.stop() }

    public func capture() throws -> RGBImage {
        try capturer.capture(area)
    }

    public func perform(_ action: ResolvedAction) throws {
        _ = try executor.perform(action)
    }

    public func drainSentEvents() -> [SentInputEvent] {
        executor.drainSentEvents()
    }

    public func releaseAll() {
        input.releaseAll()
    }

    public func windowClass(at point: Point) -> String? {
        display.windowClass(at: point)
    }

    public func focusedWindowClass() -> String? {
        display.focusedWindowClass()
    }
}

/// An executor that runs its jobs, in order, on one thread it owns: for an actor whose work blocks
/// (Xlib calls, XTest pacing) and so must stay off the concurrency pool, or (as a task executor) for
/// work that must go on while the pool's few threads are busy elsewhere.
public final class DedicatedThread: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var stopped = false
    private let condition = NSCondition()

    public init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end once the jobs already queued have run.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
    }
}
