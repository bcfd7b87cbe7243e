import Agent
import ArgumentParser
import Desktop
import Foundation
import Imaging

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record what you do (clicks, drags, wheel, typing, chords) as a session that replay can play back.",
        discussion: """
            Input from every device and program is recorded with the X RECORD extension and grouped into \
            steps — a click (double, triple), a drag, a wheel turn, a typed string, a key or chord — with \
            screenshots before and after each, in the same format as an agent run. Stop with ctrl+alt+Escape, \
            Ctrl-C, or --duration.
            """)

    @Argument(help: "The session folder to write.") var session: String
    @OptionGroup var desktop: DesktopOptions
    @Option(help: "Stop after this many seconds.") var duration: Double?
    @Option(help: ArgumentHelp("The monitor to record screenshots of (default: the whole screen).", valueName: "name")) var monitor: String?
    @Option(help: "What the demonstration does, for the session header.") var task = "demonstration"

    func validate() throws {
        if let duration, !(duration > 0) || duration.isInfinite {
            throw ValidationError("--duration must be a positive number of seconds, not \(duration)")
        }
    }

    func run() throws {
        Interruption.install()
        try desktop.withDisplay { display, logger in
            let area = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
            let capturer = ScreenCapturer(display: display)
            let sessionRecorder: SessionRecorder
            do {
                sessionRecorder = try SessionRecorder(
                    directory: URL(fileURLWithPath: session),
                    header: ["task": task, "profile": "none", "model": ["kind": "human", "name": "demonstration"], "display": display.name,
                             "area": ["x": area.x, "y": area.y, "width": area.width, "height": area.height], "coordinate_space": "pixels",
                             "shape": "instruct"])
            } catch let error as SessionError { try fail(error.message, status: ExitStatus.cannotCreate) }
            let input = try InputRecorder(display: display.name)
            print("recording on \(display.name) into \(session) — stop with ctrl+alt+Escape or Ctrl-C")
            fflush(nil)
            var before = try capturer.settledCapture(area, ceiling: .seconds(2), logger: logger)
            var grouper = DemonstrationGrouper()
            var seen = 0, stepNumber = 0
            var lastServerTime: UInt32 = 0
            var lastArrival = Date()
            let started = Date()
            func write(_ steps: [DemonstrationGrouper.Step]) throws {
                for step in steps {
                    stepNumber += 1
                    let after = try capturer.settledCapture(area, ceiling: .seconds(2), logger: logger)
                    let resolved = ResolvedAction(step.action, point: step.point, startPoint: step.startPoint)
                    var plan: [String: Any] = ["action": step.action.name.rawValue]
                    var performed: [String: Any] = ["action": step.action.name.rawValue, "description": resolved.description]
                    if let text = step.action.text { plan["text"] = text; performed["text"] = text }
                    if let keys = step.action.keys { plan["keys"] = keys; performed["keys"] = keys }
                    if let amount = step.action.amount { plan["amount"] = amount }
                    for (key, point) in [("point", step.point), ("start", step.startPoint)] {
                        guard let point else { continue }
                        performed[key] = ["image": [point.x - area.x, point.y - area.y], "screen": [point.x, point.y]]
                    }
                    let frames = [
                        "before": try sessionRecorder.writeFrame(before, name: String(format: "step-%04d-before", stepNumber)),
                        "after": try sessionRecorder.writeFrame(after, name: String(format: "step-%04d-after", stepNumber)),
                    ]
                    let verification = Verification(ScreenChange(from: before, to: after), hasTarget: false)
                    try sessionRecorder.append([
                        "type": "step", "step": stepNumber, "time": SessionRecorder.timestamp(), "frames": frames,
                        "output": "", "status": "ok", "plan": ["status": "ok", "source": "demonstration", "actions": [plan]],
                        "performed": [performed], "verification": verification.description, "screen_changed": verification != .unchanged,
                    ])
                    print("  step \(stepNumber): \(resolved)")
                    fflush(nil)
                    before = after
                }
            }
            do {
                while !grouper.stopRequested && !Interruption.requested && duration.map({ Date().timeIntervalSince(started) < $0 }) ?? true {
                    let events = input.recorded
                    for event in events[seen...] {
                        try write(grouper.add(event))
                        lastServerTime = event.time
                        lastArrival = Date()
                    }
                    seen = events.count
                    try write(grouper.tick(now: lastServerTime &+ UInt32(Date().timeIntervalSince(lastArrival) * 1000)))
                    usleep(50_000)
                }
                input.stop()
                for event in input.recorded[seen...] { try write(grouper.add(event)) }
                try write(grouper.finish())
                try sessionRecorder.append(["type": "outcome", "outcome": "success", "detail": "demonstration of \(stepNumber) step(s)",
                                            "seconds": (Date().timeIntervalSince(started) * 10).rounded() / 10])
            } catch let error as SessionError {
                input.stop()
                try fail(error.message, status: ExitStatus.cannotCreate)
            }
            print("✔ recorded \(stepNumber) step(s) into \(session)")
        }
    }
}
