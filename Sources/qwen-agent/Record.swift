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

    func run() throws {
        Interruption.install()
        try desktop.withDisplay { display, logger in
            let area = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
            let capturer = ScreenCapturer(display: display)
            let sessionRecorder: SessionRecorder
            do {
                sessionRecorder = try SessionRecorder(
                    directory: URL(fileURLWithPath: session),
                    header: SessionHeader(task: task, profile: "none", model: .human, display: display.name, area: area,
                                          coordinateSpace: "pixels", shape: "instruct"))
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
                    var planned = PlanRecord.Action(action: step.action.name.rawValue)
                    (planned.text, planned.keys, planned.amount) = (step.action.text, step.action.keys, step.action.amount)
                    let frames = StepRecord.Frames(
                        before: try sessionRecorder.writeFrame(before, name: String(format: "step-%04d-before", stepNumber)),
                        after: try sessionRecorder.writeFrame(after, name: String(format: "step-%04d-after", stepNumber)))
                    let verification = Verification(ScreenChange(from: before, to: after), hasTarget: false)
                    var record = StepRecord(step: stepNumber, frames: frames, output: "", status: "ok",
                                            plan: PlanRecord(status: "ok", source: "demonstration", actions: [planned]),
                                            performed: [PerformedAction(resolved, area: area, withModelPoints: false)])
                    record.verification = verification.description
                    record.screenChanged = verification != .unchanged
                    try sessionRecorder.append(record)
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
                try sessionRecorder.append(OutcomeRecord(outcome: "success", detail: "demonstration of \(stepNumber) step(s)",
                                                         seconds: Date().timeIntervalSince(started)))
            } catch let error as SessionError {
                input.stop()
                try fail(error.message, status: ExitStatus.cannotCreate)
            }
            print("✔ recorded \(stepNumber) step(s) into \(session)")
        }
    }
}
