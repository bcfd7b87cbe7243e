public import AgentCore
import Desktop
public import Foundation
public import Imaging
public import Logging

/// Re-executes a recorded session without a model, checking before each step that sends input that
/// the screen still looks as it did when the step was recorded, where the step acts.
///
/// Where a step acts is its ``StepFocus``: a 160x160 box around its target, or — for typing and keys
/// — the box that changed between its recorded before and after frames (the whole screen only when
/// nothing visible changed). Similarity is the share of pixels there whose channels all differ by at
/// most 24 from the recorded frame: local, so a blinking cursor or a clock elsewhere does not matter,
/// yet a field that holds other text fails. The default threshold is 0.90. After the last step the
/// live screen is compared, the same way, with the recording's last after-frame where the recording
/// changed the screen. A screen of another size is handled through the coordinate contract: points
/// and boxes are scaled from the recorded screenshot's pixels to the live one's, and the recorded
/// frame is scaled for the comparison.
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

    /// What a replay did, counted so that it never claims more than it checked and sent.
    public struct Result: Sendable, Equatable {
        public enum Ending: Sendable, Equatable {
            /// Every step of the range was gone through.
            case completed
            /// The screen did not match before `step`, so nothing was sent for it; `picture` shows
            /// recorded and live side by side.
            case mismatch(step: Int, similarity: Double, picture: URL)
            /// Every step was replayed, but the final screen does not look like the recording's last
            /// after-frame; `picture` shows the two side by side.
            case finalMismatch(similarity: Double, picture: URL)
        }

        public var ending = Ending.completed
        /// Steps of the range gone through, including those that had nothing to send.
        public var steps = 0
        /// Steps whose screen was compared with the recording before their input was sent.
        public var checked = 0
        /// Steps whose input was sent (none in a dry run).
        public var sent = 0
        /// Steps the model re-grounded on a changed screen.
        public var healed = 0
        /// How closely the final screen matched the recording's last after-frame; nil when it was not
        /// compared (a dry run, a mismatch, or no step of the range has an after frame).
        public var finalSimilarity: Double?
    }

    public static let boxRadius = 80
    public static let channelTolerance = 24
    /// Actions that put nothing on the screen: a step made only of these is not checked or re-grounded.
    static let withoutInput: Set<ActionName> = [.wait, .terminate, .answer, .callUser]

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
        var result = Result()
        var previousTime: Date?
        // The recording's first before-frame and last after-frame of the range, for the final comparison.
        var firstBefore: RGBImage?, lastAfter: RGBImage?
        steps: for record in session.steps where record.step >= options.from && record.step <= options.to {
            let number = record.step
            result.steps += 1
            guard !record.performed.isEmpty else {
                say("step \(number): nothing was done when recorded (\(record.status))")
                continue
            }
            let recordedTime = ISO8601DateFormatter.withFractions.date(from: record.time)
            if let speed = options.speed, let previousTime, let recordedTime {
                try await watch.pause(.milliseconds(Int64(min(30, max(0, recordedTime.timeIntervalSince(previousTime) / speed)) * 1000)))
            }
            previousTime = recordedTime
            let recorded = try Self.frame(record.frames.before, in: session.directory)
            // Only where the step acts is learnt from the after frame: without it the whole screen is compared (and said).
            let recordedAfter = record.frames.after.flatMap { try? Self.frame($0, in: session.directory) }
            firstBefore = firstBefore ?? recorded
            lastAfter = recordedAfter ?? lastAfter
            let live = try await settling.capture()
            let actions = try zip(record.performed, record.plan.actions).map { entry, plan throws(SessionError) in
                try resolve(entry, plan, recorded: recorded.size, live: live.size, secret: options.secret, step: number)
            }
            let summary = actions.map(\.description).joined(separator: "; ")
            guard actions.contains(where: { !Self.withoutInput.contains($0.action.name) }) else {
                say("step \(number): \(summary)   (nothing to send, so nothing to check)")
                if options.dryRun { continue }
                if try await perform(actions) { break steps }
                continue
            }
            // A dry run sends nothing, so the screen cannot move on: only its first step can be checked.
            if options.dryRun && result.checked > 0 {
                say("step \(number): \(summary)   (not checked: the dry run sent nothing, so the screen did not move on)")
                continue
            }
            let focus = StepFocus(record, before: recorded, after: recordedAfter).scaled(from: recorded.size, to: live.size)
            let region = Self.region(of: focus, in: live.bounds)
            let similarity = Self.similarity(recorded: recorded, live: live, in: region)
            result.checked += 1
            say("step \(number): \(summary)   similarity \(Self.format(similarity)) \(Self.describe(focus, region))")
            var toPerform = actions
            if similarity < options.threshold {
                let picture = session.directory.appendingPathComponent("replay-mismatch-step-\(number).png")
                try Self.sideBySide(recorded: recorded, live: live, focus: focus).write(to: picture)
                guard let healer, !options.dryRun else {
                    result.ending = .mismatch(step: number, similarity: similarity, picture: picture)
                    return result
                }
                say("step \(number): the screen changed; asking the model to re-ground this step")
                let instruction = "Task: \(session.header.task)\n\nA recorded run did this as step \(number): \(summary). "
                    + "The screen looks different now. Do this one step on the current screen, with exactly one tool call."
                toPerform = try await healer(instruction, live)
                guard !toPerform.isEmpty else {
                    result.ending = .mismatch(step: number, similarity: similarity, picture: picture)
                    return result
                }
                say("step \(number): re-grounded as \(toPerform.map(\.description).joined(separator: "; "))")
                result.healed += 1
            }
            if options.dryRun { continue }
            let ended = try await perform(toPerform)
            result.sent += 1
            if ended { break }
        }
        guard !options.dryRun, let firstBefore, let lastAfter else { return result }
        return try await compareFinalScreen(with: lastAfter, startedFrom: firstBefore, threshold: options.threshold, result)
    }

    /// Sends a step's actions; true when one of them ends the run (terminate, answer, call_user).
    private func perform(_ actions: [ResolvedAction]) async throws -> Bool {
        for action in actions {
            switch action.action.name {
            case .terminate, .answer, .callUser: return true
            case .wait: try await watch.pause(.milliseconds(Int64((action.action.seconds ?? 0) * 1000)))
            default: try await input.perform(action)
            }
        }
        return false
    }

    /// The settled live screen against the recording's last after-frame, where the recording changed
    /// the screen (from its first before-frame; the whole screen when nothing changed).
    private func compareFinalScreen(with recorded: RGBImage, startedFrom first: RGBImage, threshold: Double,
                                    _ replayed: Result) async throws -> Result {
        var result = replayed
        let live = try await settling.capture()
        let focus = (first.changedRegion(to: recorded).map(StepFocus.changed) ?? .wholeScreen).scaled(from: recorded.size, to: live.size)
        let region = Self.region(of: focus, in: live.bounds)
        let similarity = Self.similarity(recorded: recorded, live: live, in: region)
        result.finalSimilarity = similarity
        say("final screen: similarity \(Self.format(similarity)) to the recording's last frame \(Self.describe(focus, region))")
        // Re-grounded steps acted on a screen that had changed, so a different end is expected: it is only reported.
        if similarity < threshold && result.healed == 0 {
            let picture = session.directory.appendingPathComponent("replay-mismatch-final.png")
            try Self.sideBySide(recorded: recorded, live: live, focus: focus).write(to: picture)
            result.ending = .finalMismatch(similarity: similarity, picture: picture)
        }
        return result
    }

    /// A recorded action with its points moved from the recorded screenshot to the live one.
    private func resolve(_ entry: PerformedAction, _ plan: PlanRecord.Action, recorded: Size, live: Size, secret: String?,
                         step: Int) throws(SessionError) -> ResolvedAction {
        guard let name = ActionName(rawValue: plan.action) else {
            throw SessionError(.unreadable, "step \(step) records an action this qwen-agent does not know")
        }
        var text = plan.text
        if let masked = text, masked.contains("••••••") {
            guard let secret else { throw SessionError(.unreadable, "step \(step) types text that was masked when recorded; give it with --secret") }
            text = masked.replacingOccurrences(of: "••••••", with: secret)
        }
        let action = Action(name, keys: plan.keys, text: text, amount: plan.amount, seconds: plan.seconds,
                            status: plan.terminateStatus.flatMap(TerminateStatus.init))
        func moved(_ chain: PerformedAction.PointChain?) -> Point? {
            guard let image = chain?.image, image.count == 2 else { return nil }
            let point = Point(x: image[0], y: image[1]).scaled(from: recorded, to: live)
            return Point(x: area.x + point.x, y: area.y + point.y)
        }
        return ResolvedAction(action, point: moved(entry.point), startPoint: moved(entry.start))
    }

    // MARK: Comparing screens

    /// The pixels to compare, in live pixels: the box around the target, the box that changed, or the
    /// whole screen.
    static func region(of focus: StepFocus, in bounds: Rect) -> Rect {
        switch focus {
        case .target(let point):
            Rect(x: point.x - boxRadius, y: point.y - boxRadius, width: 2 * boxRadius, height: 2 * boxRadius).intersection(bounds) ?? bounds
        case .changed(let box): box.intersection(bounds) ?? bounds
        case .wholeScreen: bounds
        }
    }

    /// The share of pixels in `region` (live pixels) whose channels all lie within ``channelTolerance``
    /// of the recorded frame's, scaled to the live size. A large region is sampled evenly, about 65,000
    /// pixels (every fourth pixel of a 1280x800 screen), which is plenty for a share.
    static func similarity(recorded: RGBImage, live: RGBImage, in region: Rect) -> Double {
        let step = max(1, Int((Double(region.width * region.height) / 65_536).squareRoot().rounded(.up)))
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

    /// Recorded (left) and live (right) under their labels, what was compared marked on both, for the
    /// mismatch report. `focus` is in live pixels.
    static func sideBySide(recorded: RGBImage, live: RGBImage, focus: StepFocus) -> RGBImage {
        var scaled = RGBImage(width: live.width, height: live.height)
        for y in 0..<live.height {
            for x in 0..<live.width { scaled[x, y] = recorded[x * recorded.width / live.width, y * recorded.height / live.height] }
        }
        let labelBand = 28, gap = 8
        var canvas = RGBImage(width: live.width * 2 + gap, height: live.height + labelBand, fill: RGB(hex: 0xFFFFFF))
        for (offset, label, image) in [(0, "recorded", scaled), (live.width + gap, "live", live)] {
            var marked = image
            switch focus {
            case .target(let point): marked.drawMarker(at: point, color: .mark)
            case .changed(let box): marked.outlineChange(box)
            case .wholeScreen: break
            }
            canvas.drawLabel(label, at: Point(x: offset + 4, y: 4), color: RGB(hex: 0x333333))
            for y in 0..<marked.height {
                for x in 0..<marked.width { canvas[offset + x, labelBand + y] = marked[x, y] }
            }
        }
        return canvas
    }

    private static func describe(_ focus: StepFocus, _ region: Rect) -> String {
        switch focus {
        case .target: "near the target"
        case .changed: "where the recording changed the screen (\(region.width)x\(region.height)+\(region.x)+\(region.y))"
        case .wholeScreen: "over the whole screen"
        }
    }

    private static func format(_ similarity: Double) -> String { String(format: "%.3f", similarity) }

    private static func frame(_ relative: String, in directory: URL) throws(SessionError) -> RGBImage {
        do { return try PNG.read(from: directory.appendingPathComponent(relative)) } catch {
            throw SessionError(.unreadable, "recorded frame \(relative) cannot be read: \(error.message)")
        }
    }
}

extension RGBImage {
    fileprivate func write(to url: URL) throws(SessionError) {
        do { try PNG.write(self, to: url) } catch { throw SessionError(.unwritable, error.message) }
    }
}
