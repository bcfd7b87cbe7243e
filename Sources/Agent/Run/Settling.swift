import AgentCore
public import Imaging
public import Logging

/// Waits for an action's effect without a fixed sleep: captures until two captures `interval`
/// apart show the same screen (or differ only by noise), up to `ceiling`. The waits between
/// captures see the abort flag, so settling never delays an abort.
public struct Settling: Sendable {
    public let screen: any ScreenSource
    public let ceiling: Duration
    public let interval: Duration
    let watch: Watch
    let logger: Logger

    public init(screen: any ScreenSource, ceiling: Duration, interval: Duration = .milliseconds(50),
                isAborted: @escaping @Sendable () -> Bool, logger: Logger) {
        self.screen = screen
        self.ceiling = ceiling
        self.interval = interval
        watch = Watch(isAborted: isAborted, interval: min(interval, .milliseconds(20)))
        self.logger = logger
    }

    public func capture() async throws -> RGBImage {
        let deadline = ContinuousClock.now + ceiling
        var previous = try await screen.capture()
        while ContinuousClock.now < deadline {
            try await watch.pause(interval)
            let current = try await screen.capture()
            if ScreenChange(from: previous, to: current).isNothing { return current }
            previous = current
        }
        logger.info("the screen was still changing after \(ceiling)")
        return previous
    }
}
