public import AgentCore
public import Desktop
import Foundation
public import Imaging
import Synchronization

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

    /// The area captured and acted on; it follows RandR changes (``followGeometry()``).
    nonisolated public var area: Rect { currentArea.withLock { $0 } }
    private let currentArea: Mutex<Rect>
    /// The monitor the area follows (nil: the whole screen).
    private let monitor: String?
    private let display: Display
    private let capturer: ScreenCapturer
    private let input: InputController
    private let executor: Executor

    /// Takes over `display` and `input` (built on it): use them only through this actor from now on.
    /// `area` is the monitor called `monitor`, or the whole screen when `monitor` is nil.
    public init(display: Display, input: InputController, area: Rect, monitor: String? = nil) {
        thread = DedicatedThread(name: "qwen-agent X \(display.name)")
        self.display = display
        currentArea = Mutex(area)
        self.monitor = monitor
        capturer = ScreenCapturer(display: display)
        self.input = input
        executor = Executor(input: input)
    }

    deinit { thread.stop() }

    /// A screenshot of the area. When it fails because the screen changed size under it (RandR), the
    /// area follows the new geometry and the capture is made again.
    public func capture() throws -> RGBImage {
        do {
            return try capturer.capture(area)
        } catch {
            let before = area
            guard (try? followGeometry()).map({ $0 != before }) == true else { throw error }
            return try capturer.capture(area)
        }
    }

    public func followGeometry() throws -> Rect {
        let fresh = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
        currentArea.withLock { $0 = fresh }
        return fresh
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

    public func layout() throws -> ScreenLayout {
        ScreenLayout(screen: try display.screenSize(), monitors: try display.monitors().map(\.bounds),
                     windows: display.topLevelWindows().map { ScreenLayout.Window(id: $0.id, frame: $0.frame) },
                     focus: display.focusedTopLevelWindow())
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
