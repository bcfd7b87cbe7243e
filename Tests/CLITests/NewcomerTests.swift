import Agent
import AgentCore
import Foundation
import TestSupport
import Testing

/// Issue 13, "A newcomer's first hour": the command line tried from a fresh clone, with bad input on
/// purpose. None of these needs an X display: each is refused before one would be opened.
@Suite("qwen-agent for a newcomer: mistakes are caught early, in one line")
struct NewcomerTests {
    static let transcript = SessionTests.transcripts.appendingPathComponent("log-out.txt").path

    @Test(arguments: [
        (["monitor"], "monitor", "monitors"),
        (["clik", "10", "10"], "clik", "click"),
        (["Monitors"], "Monitors", "monitors"),
        (["replya", "session"], "replya", "replay"),
    ])
    func aMistypedCommandIsNamedAndNeverBecomesATask(arguments: [String], word: String, command: String) throws {
        // With a model configured, the task "monitor" would otherwise go to the agent.
        let run = try qwenAgent(arguments + ["--transcript", Self.transcript], display: nil)
        #expect(run.status == 64)
        #expect(run.stderr.hasPrefix("qwen-agent: unknown command '\(word)' — did you mean '\(command)'?"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stdout.isEmpty)
    }

    @Test func aOneWordTaskFarFromEveryCommandIsATaskAndRunSaysSoExplicitly() throws {
        // "mute" is two letters from "move": a short name gets one slip only, so it reaches the agent
        // (which then needs a display); `run monitor` is a task because the user said so.
        for arguments in [["mute"], ["run", "monitor"]] {
            let run = try qwenAgent(arguments + ["--transcript", Self.transcript], display: nil)
            #expect(run.status == 69, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("no X display"))
        }
    }

    @Test func anEmptyTaskIsRefused() throws {
        for task in ["", "   "] {
            let run = try qwenAgent([task, "--transcript", Self.transcript], display: nil)
            #expect(run.status == 64)
            #expect(run.stderr.hasPrefix("qwen-agent: the task is empty"), "\(run.stderr)")
        }
        let nothing = try qwenAgent([], display: nil)
        #expect(nothing.status == 64 && nothing.stderr.split(separator: "\n").count == 1, "\(nothing.stderr)")
    }

    @Test(arguments: [
        ["click", "10"], ["click", "1", "2", "--button", "thumb"], ["capture", "-o", "x.png", "--region", "1,2,3"],
        ["frobnicate", "the", "thing"], ["type", "-x"], ["scroll", "sideways"], ["capture"],
    ])
    func argumentErrorsAreOneLineThatSaysWhereTheUsageIs(arguments: [String]) throws {
        let run = try qwenAgent(arguments, display: nil)
        #expect(run.status == 64)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("qwen-agent: ") && run.stderr.contains("--help"), "\(run.stderr)")
    }

    @Test func hintsSayHowToQuoteATaskAndTypeADash() throws {
        #expect(try qwenAgent(["frobnicate", "the", "thing"], display: nil).stderr.contains("goes in quotes"))
        #expect(try qwenAgent(["type", "-x"], display: nil).stderr.contains("qwen-agent type -- "))
    }

    @Test func helpStaysWholeAndVersionIsThere() throws {
        let help = try qwenAgent(["click", "--help"], display: nil)
        #expect(help.status == 0 && help.stdout.contains("USAGE: qwen-agent click") && help.stdout.contains("--count"))
        let version = try qwenAgent(["--version"], display: nil)
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(version.stdout)")
        let generate = try qwenAgent(["generate", "--help"], display: nil)
        #expect(!generate.stdout.contains("text only") && generate.stdout.contains("--image"))
    }

    @Test func theExitStatusTableIsInTheHelp() throws {
        let help = try qwenAgent(["--help"], display: nil).stdout.replacingOccurrences(of: "\n", with: " ")
        for entry in ["64 bad arguments", "65 bad input data", "69 no X display", "73 an output file", "75 the model failed", "130 interrupted"] {
            #expect(help.contains(entry), "\(entry)")
        }
    }

    @Test(arguments: [
        (["generate", "hi", "--max-new-tokens=-1"], "--max-new-tokens"),
        (["generate", "hi", "--temperature=-1"], "--temperature"),
        (["generate", "hi", "--temperature", "nan"], "--temperature"),
        (["generate", "hi", "--top-p", "7"], "--top-p"),
        (["generate", "hi", "--top-k", "0"], "--top-k"),
        (["generate", "hi", "--top-k=-3"], "--top-k"),
        (["generate", "hi", "--thinking-budget=-1"], "--thinking-budget"),
        (["generate", "hi", "--presence-penalty", "inf"], "--presence-penalty"),
        (["record", "/tmp/never-recorded", "--duration", "0"], "--duration"),
        (["record", "/tmp/never-recorded", "--duration", "nan"], "--duration"),
        (["replay", "/tmp/never-replayed", "--from", "3", "--to", "1"], "--to 1"),
        (["replay", "/tmp/never-replayed", "--from", "0"], "--from"),
        (["replay", "/tmp/never-replayed", "--speed", "nan"], "--speed"),
        (["click", "1", "1", "--count", "11"], "--count"),
        (["click", "1", "1", "--count", "0"], "--count"),
        (["scroll", "up", "--steps", "0"], "--steps"),
        (["scroll", "up", "--steps", "201"], "--steps"),
    ])
    func numbersOutOfTheirRangeAreUsageErrors(arguments: [String], option: String) throws {
        let run = try qwenAgent(arguments, display: nil)
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
        #expect(run.stderr.hasPrefix("qwen-agent: \(option)"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    @Test func replayFromPastTheLastStepIsAUsageError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("five-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let recorder = try sessionWithHeader(in: folder, task: "five steps")
        for step in 1...5 {
            try recorder.append(StepRecord(step: step, frames: .init(before: "frames/none.png"), output: "", status: "ok",
                                           plan: PlanRecord(status: "ok", actions: []), performed: []))
        }
        let run = try qwenAgent(["replay", folder.path, "--from", "9"], display: nil)
        #expect(run.status == 64, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr == "qwen-agent: --from 9 is past the session's last step (5)\n")
    }
}
