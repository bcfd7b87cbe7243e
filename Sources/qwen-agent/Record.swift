import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging

struct Record: AsyncParsableCommand {
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

    func run() async throws {
        Interruption.install()
        let logger = desktop.makeLogger()
        try await reportingFailures {
            let display = try Display(name: desktop.display, logger: logger)
            let area = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
            let screen = X11Desktop(display: display, input: try InputController(display: display), area: area)
            // A person acts in screen pixels; the screenshots are of `area`.
            let screenPixels = CoordinateMapping(space: .imagePixels, imageSize: area.size, imageOrigin: area.origin)
            // Ctrl-C is how a recording ends, so it does not cut the last step's settling short.
            let settling = Settling(screen: screen, ceiling: .seconds(2), isAborted: { false }, logger: logger)
            let sessionRecorder: SessionRecorder
            do {
                sessionRecorder = try SessionRecorder(
                    directory: URL(fileURLWithPath: session),
                    header: SessionHeader(task: task, profile: "none", model: .human, display: display.name, area: area,
                                          coordinateSpace: .imagePixels, shape: .instruct))
            } catch let error as SessionError { try fail(error.message, status: ExitStatus.cannotCreate) }
            let input = try InputRecorder(display: display.name)
            print("recording on \(display.name) into \(session) — stop with ctrl+alt+Escape or Ctrl-C")
            fflush(nil)
            var before = try await settling.capture()
            var grouper = DemonstrationGrouper()
            var seen = 0, stepNumber = 0
            var lastServerTime: UInt32 = 0
            var lastArrival = Date()
            let started = Date()
            func write(_ steps: [DemonstrationGrouper.Step]) async throws {
                for step in steps {
                    stepNumber += 1
                    let after = try await settling.capture()
                    let resolved = ResolvedAction(step.action, point: step.point, startPoint: step.startPoint)
                    var planned = PlanRecord.Action(action: step.action.name.rawValue)
                    (planned.text, planned.keys, planned.amount) = (step.action.text, step.action.keys, step.action.amount)
                    let frames = StepRecord.Frames(
                        before: try sessionRecorder.writeFrame(before, name: String(format: "step-%04d-before", stepNumber)),
                        after: try sessionRecorder.writeFrame(after, name: String(format: "step-%04d-after", stepNumber)))
                    let verification = Verification(ScreenChange(from: before, to: after), hasTarget: false)
                    var record = StepRecord(step: stepNumber, frames: frames, output: "", status: "ok",
                                            plan: PlanRecord(status: "ok", source: "demonstration", actions: [planned]),
                                            performed: [PerformedAction(resolved, mapping: screenPixels, withModelPoints: false)])
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
                        try await write(grouper.add(event))
                        lastServerTime = event.time
                        lastArrival = Date()
                    }
                    seen = events.count
                    try await write(grouper.tick(now: lastServerTime &+ UInt32(Date().timeIntervalSince(lastArrival) * 1000)))
                    try await Task.sleep(for: .milliseconds(50))
                }
                input.stop()
                for event in input.recorded[seen...] { try await write(grouper.add(event)) }
                try await write(grouper.finish())
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
