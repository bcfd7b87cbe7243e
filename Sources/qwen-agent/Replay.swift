import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run a recorded session without a model, checking the screen before each step.",
        discussion: """
            Before each step that sends input, the live screen is compared with the step's recorded \
            screenshot where the step acts: a 160x160 box around its target, or, for typing and keys, the \
            box that changed between the step's recorded before and after frames (the whole screen only \
            when nothing visible changed). The share of pixels whose channels differ by at most 24 must \
            reach --threshold (default 0.90), so a blinking cursor or a clock elsewhere does not matter. On \
            a mismatch nothing is sent: replay stops and writes replay-mismatch-step-N.png (recorded left, \
            live right) into the session. Steps that send nothing (wait, terminate, answer, call_user) are \
            not checked. After the last step the final screen is compared the same way with the \
            recording's last after-frame, where the recording changed the screen.

            --dry-run sends nothing, so only the first step that sends input can be checked; it says how \
            many were.

            With --heal and a model (--endpoint/--model or --transcript), a step whose screen no longer \
            matches is sent to the model with the live screenshot and what the step did, and the model's \
            action is performed instead. The final screen is then expected to differ: its similarity is \
            reported, not judged.

            Exit statuses: 0 replayed (or, with --dry-run, checked); 1 a step's screen did not match, so \
            nothing was sent for it; 2 every step was replayed but the final screen does not match the \
            recording's last frame (replay-mismatch-final.png); 64 bad arguments (--from past the last \
            step); 65 the session cannot be read; 69 no display; 75 the model failed (--heal); 130 \
            interrupted.
            """)

    @Argument(help: "The session folder.") var session: String
    @OptionGroup var desktop: DesktopOptions

    @Option(help: "First step to replay.") var from = 1
    @Option(help: "Last step to replay.") var to: Int?
    @Option(help: "Follow the recorded pace divided by this (default: as fast as the screen settles).") var speed: Double?
    @Option(help: "Share of matching pixels needed near each step's target (0–1).") var threshold = 0.90
    @Flag(help: "Check and show each step; send no input.") var dryRun = false
    @Option(help: ArgumentHelp("The text masked as •••••• when recorded, for steps that type it.", valueName: "value"))
    var secret: String?
    @Option(help: ArgumentHelp("The monitor to replay on (default: the whole screen).", valueName: "name")) var monitor: String?
    @Flag(help: "Ask the model to re-ground a step whose screen no longer matches, instead of stopping.") var heal = false
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be between 0 and 1") }
        if let speed, !(speed > 0) || speed.isInfinite { throw ValidationError("--speed must be a positive number, not \(speed)") }
        if from < 1 { throw ValidationError("--from must be a step number, 1 or more, not \(from)") }
        if let to, to < from { throw ValidationError("--to \(to) comes before --from \(from): nothing would be replayed") }
        if heal && model.endpoint == nil && model.transcript == nil && model.model == nil {
            throw ValidationError("--heal needs a model: --model DIR, --endpoint URL --model NAME, or --transcript FILE")
        }
    }

    func run() async throws {
        let log = try reportingFailures { try SessionLog.read(URL(fileURLWithPath: session)) }
        for warning in log.warnings { FileHandle.standardError.write(Data("qwen-agent: warning: \(warning)\n".utf8)) }
        let last = log.steps.map(\.step).max() ?? 0
        if from > last { try fail("--from \(from) is past the session's last step (\(last))", status: ExitStatus.usage) }
        var options = Replayer.Options()
        options.from = from
        options.to = to ?? Int.max
        options.dryRun = dryRun
        options.threshold = threshold
        options.speed = speed
        options.secret = secret
        var result: Replayer.Result?
        let logger = desktop.makeLogger()
        // The model is loaded before the display is touched, so a bad model fails first.
        var planner: Planner?
        if heal {
            planner = Planner(seat: try model.makeStepModels(logger: logger).lead)
        }
        try await reportingFailures {
            let display = try Display(name: desktop.display, logger: logger)
            let area = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
            // The live screenshot shows `area`, so the model's points are offset by its origin.
            let healer: Replayer.Healer? = planner.map { planner in
                { instruction, screenshot in
                    let plan = try await planner.plan(task: instruction, screenshot: screenshot, origin: area.origin)
                    return plan.report.isSuccess ? plan.report.resolved : []
                }
            }
            print("replaying \(log.steps.count) recorded step(s) of \"\(log.header.task)\"\(dryRun ? " (dry run: nothing is sent)" : "")")
            let x11 = X11Desktop(display: display, input: try desktop.makeInput(display), area: area)
            let replayer = Replayer(session: log, screen: x11, input: x11, isAborted: { Interruption.requested }, logger: logger,
                                    say: { print("  \($0)") })
            do {
                result = try await replayer.run(options, healer: healer)
            } catch is WaitInterrupted {
                await x11.releaseAll()
                throw ExitCode(ExitStatus.interrupted)
            }
            await x11.releaseAll()
        }
        guard let result else { return }
        switch result.ending {
        case .completed where dryRun:
            print("dry run: \(result.checked) of \(result.steps) step(s) checked, nothing sent")
        case .completed:
            let healed = result.healed > 0 ? " (\(result.healed) re-grounded by the model)" : ""
            var final = result.finalSimilarity.map { "final screen similarity \(format($0)) to the recording's last frame" }
                ?? "no recorded after-frame to compare the final screen with"
            if result.healed > 0, let similarity = result.finalSimilarity, similarity < threshold {
                final += " (expected: re-grounded steps acted on a screen that had changed)"
            }
            print("✔ replayed \(result.steps) step(s): \(result.sent) checked and sent\(healed), "
                  + "\(result.steps - result.sent) with nothing to send; \(final)")
        case .mismatch(let step, let similarity, let picture):
            print("✘ step \(step): the screen does not match the recording (similarity \(format(similarity)) < \(threshold)); nothing was sent for it")
            print("  recorded vs live: \(picture.path)")
            throw ExitCode(1)
        case .finalMismatch(let similarity, let picture):
            print("✘ \(result.sent) step(s) sent, but the final screen does not match the recording's last frame "
                  + "(similarity \(format(similarity)) < \(threshold))")
            print("  recorded vs live: \(picture.path)")
            throw ExitCode(2)
        }
    }
}

private func format(_ similarity: Double) -> String { String(format: "%.3f", similarity) }
