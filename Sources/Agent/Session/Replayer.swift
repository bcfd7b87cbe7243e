public import Desktop
public import Foundation
public import Imaging
public import Logging

/// Re-executes a recorded session without a model, checking before each step that the screen still
/// looks as it did when the step was recorded, near where the step acts.
///
/// Similarity is the share of pixels, in a 160x160 box around the action's target (the whole screen
/// for actions without one), whose channels all differ by at most 24 from the recorded frame — local,
/// so a blinking cursor or a clock elsewhere does not matter. The default threshold is 0.90. A screen
/// of another size is handled through the coordinate contract: points are scaled from the recorded
/// screenshot's pixels to the live one's, and the recorded frame is scaled for the comparison.
public final class Replayer {
    public struct Options: Sendable {
        public var from = 1
        public var to = Int.max
        /// Check and show, send nothing.
        public var dryRun = false
        public var threshold = 0.90
        /// Follow the recorded pace divided by this; nil replays as fast as the screen settles.
        public var speed: Double?
        /// Replaces masked text ("••••••") in typed text.
        public var secret: String?
        public init() {}
    }

    /// Re-grounds one step on a changed screen: given what the step did and the live screenshot, a
    /// model's actions for it (empty when it cannot).
    public typealias Healer = (_ instruction: String, _ screenshot: RGBImage) async throws -> [ResolvedAction]

    public enum Result: Sendable, Equatable {
        /// Every step replayed; `healed` of them re-grounded by the model.
        case completed(steps: Int, healed: Int)
        /// The screen did not match at `step`; `picture` shows recorded and live side by side.
        case mismatch(step: Int, similarity: Double, picture: URL)
    }

    public static let boxRadius = 80
    public static let channelTolerance = 24

    private let session: SessionLog
    private let screen: any ScreenSource
    private let input: any InputSink
    private let settling: Settling
    private let watch: Watch
    private let say: (String) -> Void
    private var area: Rect { screen.area }

    /// Replays on `screen` (its area is where the session's steps land) with `input`; `isAborted`
    /// is watched during every wait (settling, pacing, `wait` steps).
    public init(session: SessionLog, screen: any ScreenSource, input: any InputSink, isAborted: @escaping @Sendable () -> Bool = { false },
                logger: Logger, say: @escaping (String) -> Void = { _ in }) {
        self.session = session
        self.screen = screen
        self.input = input
        settling = Settling(screen: screen, ceiling: .seconds(3), isAborted: isAborted, logger: logger)
        watch = Watch(isAborted: isAborted, interval: .milliseconds(20))
        self.say = say
    }

    public func run(_ options: Options, healer: Healer? = nil) async throws -> Result {
        var replayed = 0, healed = 0
        var previousTime: Date?
        for record in session.steps {
            let number = record.step
            guard number >= options.from, number <= options.to, !record.performed.isEmpty else { continue }
            let recordedTime = ISO8601DateFormatter.withFractions.date(from: record.time)
            if let speed = options.speed, let previousTime, let recordedTime {
                try await watch.pause(.milliseconds(Int64(min(30, max(0, recordedTime.timeIntervalSince(previousTime) / speed)) * 1000)))
            }
            previousTime = recordedTime
            let recorded = try Self.frame(record.frames.before, in: session.directory)
            let live = try await settling.capture()
            let actions = try zip(record.performed, record.plan.actions).map { entry, plan throws(SessionError) in
                try resolve(entry, plan, recorded: recorded.size, live: live.size, secret: options.secret, step: number)
            }
            let target = actions.first { $0.point != nil }?.point.map { Point(x: $0.x - area.x, y: $0.y - area.y) }
            let summary = actions.map(\.description).joined(separator: "; ")
            // A dry run sends nothing, so the screen cannot move on: only its first step can be checked.
            if options.dryRun && replayed > 0 {
                say("step \(number): \(summary)   (not checked: the dry run sent nothing, so the screen did not move on)")
                replayed += 1
                continue
            }
            let similarity = Self.similarity(recorded: recorded, live: live, around: target)
            say("step \(number): \(summary)   similarity \(String(format: "%.3f", similarity))")
            var toPerform = actions
            if similarity < options.threshold {
                let picture = session.directory.appendingPathComponent("replay-mismatch-step-\(number).png")
                try Self.sideBySide(recorded: recorded, live: live, target: target).write(to: picture)
                guard let healer, !options.dryRun else { return .mismatch(step: number, similarity: similarity, picture: picture) }
                say("step \(number): the screen changed; asking the model to re-ground this step")
                let instruction = "Task: \(session.header.task)\n\nA recorded run did this as step \(number): \(summary). "
                    + "The screen looks different now. Do this one step on the current screen, with exactly one tool call."
                toPerform = try await healer(instruction, live)
                guard !toPerform.isEmpty else { return .mismatch(step: number, similarity: similarity, picture: picture) }
                say("step \(number): re-grounded as \(toPerform.map(\.description).joined(separator: "; "))")
                healed += 1
            }
            replayed += 1
            if options.dryRun { continue }
            for action in toPerform {
                switch action.action.name {
                case .terminate, .answer, .callUser: return .completed(steps: replayed, healed: healed)
                case .wait: try await watch.pause(.milliseconds(Int64((action.action.seconds ?? 0) * 1000)))
                default: try await input.perform(action)
                }
            }
        }
        return .completed(steps: replayed, healed: healed)
    }

    /// A recorded action with its points moved from the recorded screenshot to the live one.
    private func resolve(_ entry: PerformedAction, _ plan: PlanRecord.Action, recorded: Size, live: Size, secret: String?,
                         step: Int) throws(SessionError) -> ResolvedAction {
        guard let name = ActionName(rawValue: plan.action) else {
            throw SessionError("step \(step) records an action this qwen-agent does not know")
        }
        var text = plan.text
        if let masked = text, masked.contains("••••••") {
            guard let secret else { throw SessionError("step \(step) types text that was masked when recorded; give it with --secret") }
            text = masked.replacingOccurrences(of: "••••••", with: secret)
        }
        let action = Action(name, keys: plan.keys, text: text, amount: plan.amount, seconds: plan.seconds,
                            status: plan.terminateStatus.flatMap(TerminateStatus.init))
        func moved(_ chain: PerformedAction.PointChain?) -> Point? {
            guard let image = chain?.image, image.count == 2 else { return nil }
            let x = Int(((Double(image[0]) + 0.5) * Double(live.width) / Double(recorded.width)).rounded(.down))
            let y = Int(((Double(image[1]) + 0.5) * Double(live.height) / Double(recorded.height)).rounded(.down))
            return Point(x: area.x + x, y: area.y + y)
        }
        return ResolvedAction(action, point: moved(entry.point), startPoint: moved(entry.start))
    }

    // MARK: Comparing screens

    /// The share of matching pixels around `target` (or over the whole screen when nil).
    static func similarity(recorded: RGBImage, live: RGBImage, around target: Point?) -> Double {
        let box = target.map { Rect(x: $0.x - boxRadius, y: $0.y - boxRadius, width: 2 * boxRadius, height: 2 * boxRadius) } ?? live.bounds
        guard let region = box.intersection(live.bounds) else { return 0 }
        let step = target == nil ? 4 : 1 // the whole screen is sampled every fourth pixel
        var same = 0, total = 0
        for y in stride(from: region.y, to: region.maxY, by: step) {
            for x in stride(from: region.x, to: region.maxX, by: step) {
                let a = recorded[x * recorded.width / live.width, y * recorded.height / live.height], b = live[x, y]
                if abs(Int(a.red) - Int(b.red)) <= channelTolerance, abs(Int(a.green) - Int(b.green)) <= channelTolerance,
                   abs(Int(a.blue) - Int(b.blue)) <= channelTolerance { same += 1 }
                total += 1
            }
        }
        return total == 0 ? 0 : Double(same) / Double(total)
    }

    /// Recorded (left) and live (right), the target marked on both, for the mismatch report.
    static func sideBySide(recorded: RGBImage, live: RGBImage, target: Point?) -> RGBImage {
        var scaled = RGBImage(width: live.width, height: live.height)
        for y in 0..<live.height {
            for x in 0..<live.width { scaled[x, y] = recorded[x * recorded.width / live.width, y * recorded.height / live.height] }
        }
        var canvas = RGBImage(width: live.width * 2 + 8, height: live.height, fill: RGB(hex: 0xFFFFFF))
        for (offset, image) in [(0, scaled), (live.width + 8, live)] {
            var marked = image
            if let target { marked.drawMarker(at: target) }
            for y in 0..<marked.height {
                for x in 0..<marked.width { canvas[offset + x, y] = marked[x, y] }
            }
        }
        return canvas
    }

    private static func frame(_ relative: String, in directory: URL) throws(SessionError) -> RGBImage {
        do { return try PNG.read(from: directory.appendingPathComponent(relative)) } catch {
            throw SessionError("recorded frame \(relative) cannot be read: \(error.message)")
        }
    }
}

extension RGBImage {
    fileprivate func write(to url: URL) throws(SessionError) {
        do { try PNG.write(self, to: url) } catch { throw SessionError(error.message) }
    }
}

extension ISO8601DateFormatter {
    /// Session timestamps: internet date-time with milliseconds.
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
