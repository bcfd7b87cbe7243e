import Agent
import AgentCore
import Desktop
import Foundation
import Models
import Imaging
import TestSupport
import Testing
import TestSupportCore

/// The whole path on the embedded engine with the tiny random checkpoint: capture → image processor →
/// vision tower → decoder → parser. Random weights write noise; the point is that every stage runs,
/// the outcome is reported honestly, and nothing is clicked on the strength of noise.
@Suite("The embedded engine drives plan mode and the agent loop on Xvfb")
struct EmbeddedEngineTests {

    /// desktop-thinking with short replies and small screenshots, so a debug build stays quick.
    static func tinyProfile() throws -> URL {
        var profile = try JSONSerialization.jsonObject(with: Data(contentsOf: Repository.agents.appendingPathComponent("desktop-thinking.json"))) as! [String: Any]
        profile["name"] = "tiny-test"
        var generation = profile["generation"] as! [String: Any]
        generation["max_new_tokens"] = 24
        generation["max_thinking_tokens"] = 12
        generation["temperature"] = 0
        profile["generation"] = generation
        var image = profile["image"] as! [String: Any]
        image["embedded_max_pixels"] = 200_000
        profile["image"] = image
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-profile-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: profile).write(to: url)
        return url
    }

    static var modelArguments: [String] {
        ["--model", Repository.fixtures.appendingPathComponent("Golden/tiny-tied").path, "--tokenizer", Repository.fixtures.appendingPathComponent("QwenTokenizer").path]
    }

    @Test func planRunsEveryStageAndReportsWhatTheNoiseSays() throws {
        let profile = try Self.tinyProfile()
        defer { try? FileManager.default.removeItem(at: profile) }
        try withVirtualDisplay(size: Size(width: 1280, height: 720)) { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            let picture = FileManager.default.temporaryDirectory.appendingPathComponent("embedded-plan-\(UUID().uuidString).png")
            defer { try? FileManager.default.removeItem(at: picture) }
            let run = try qwenAgent(["plan", "log out of the app", "--agent", profile.path] + Self.modelArguments + ["-o", picture.path],
                                    display: virtual.name)
            #expect([0, 65].contains(run.status), "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("model: embedded: "))
            // The thinking budget (12 tokens) closed the reasoning, so the parser judged an answer.
            #expect(!run.stdout.contains("unterminated_thinking"), "\(run.stdout)")
            #expect(run.stdout.contains("plan from ") || run.stdout.contains("could not parse ("))
            #expect(try PNG.read(from: picture).size == Size(width: 1280, height: 720))
            #expect(!app.events().contains { $0.event.hasPrefix("button") || $0.event.hasPrefix("key") }, "plan mode sent nothing")
        }
    }

    /// The first plan saves the profile's system prompt, computed, under `$XDG_CACHE_HOME`; the next
    /// plan starts from it and says so; `--prompt-files none` keeps nothing.
    @Test func aSecondPlanStartsFromTheSavedSystemPrompt() throws {
        let profile = try Self.tinyProfile()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-cache-\(UUID().uuidString)")
        let unused = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-cache-\(UUID().uuidString)")
        defer { for url in [profile, cache, unused] { try? FileManager.default.removeItem(at: url) } }
        let prompts = cache.appendingPathComponent("qwen-agent/prompts")
        try withVirtualDisplay(size: Size(width: 1280, height: 720)) { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            defer { withExtendedLifetime(app) {} }  // on the screen for the whole test
            let arguments = ["plan", "log out of the app", "--agent", profile.path] + Self.modelArguments
            let first = try qwenAgent(arguments, display: virtual.name, environment: ["XDG_CACHE_HOME": cache.path])
            #expect([0, 65].contains(first.status), "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("prompt tokens") && !first.stdout.contains("saved by an earlier run"), "\(first.stdout)")
            let files = try FileManager.default.contentsOfDirectory(atPath: prompts.path)
            #expect(files.count == 1 && files[0].hasSuffix(".kv"), "\(files)")

            let second = try qwenAgent(arguments, display: virtual.name, environment: ["XDG_CACHE_HOME": cache.path])
            #expect([0, 65].contains(second.status), "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains(" of them saved by an earlier run"), "\(second.stdout)")

            let none = try qwenAgent(arguments + ["--prompt-files", "none"], display: virtual.name, environment: ["XDG_CACHE_HOME": unused.path])
            #expect([0, 65].contains(none.status), "\(none.stdout)\(none.stderr)")
            #expect(!FileManager.default.fileExists(atPath: unused.path))
        }
        let scripted = try qwenAgent(["plan", "log out of the app", "--transcript", "/dev/null", "--prompt-files", "none"], display: nil)
        #expect(scripted.status == 64 && scripted.stderr.contains("--prompt-files is where the embedded engine keeps"), "\(scripted.stderr)")
    }

    /// `--precision` and `--weights` reach the embedded engine of the agent's commands (int4 weights are
    /// quantized at load and multiplied in int8), and the model line says which run; the first load in a
    /// format says it quantizes, and saves the result next to the model, so the second load maps it
    /// without a word. With a served or scripted model the options are an error.
    @Test func planRunsWithInt4WeightsAndTheOptionsNeedTheEmbeddedEngine() throws {
        let profile = try Self.tinyProfile()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-int4-\(UUID().uuidString)")
        defer { for url in [profile, folder] { try? FileManager.default.removeItem(at: url) } }
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Golden/tiny-tied"), to: folder)
        let saved = ["qwen-agent-int4-text.bin", "qwen-agent-int8-vision.bin"]
        for name in saved { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        try withVirtualDisplay(size: Size(width: 1280, height: 720)) { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            defer { withExtendedLifetime(app) {} }  // on the screen for the whole test
            let arguments = ["plan", "log out of the app", "--agent", profile.path, "--weights", "int4", "--precision", "f32",
                             "--model", folder.path, "--tokenizer", Repository.fixtures.appendingPathComponent("QwenTokenizer").path]
            let first = try qwenAgent(arguments, display: virtual.name)
            #expect([0, 65].contains(first.status), "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("model: embedded: \(folder.path) (f32 arithmetic, int4 weights)"), "\(first.stdout)")
            #expect(first.stderr.contains("quantizing \(folder.path) to int4 weights; saved there as \(saved.joined(separator: " and "))"), "\(first.stderr)")
            #expect(saved.allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) })
            let second = try qwenAgent(arguments, display: virtual.name)
            #expect([0, 65].contains(second.status), "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains("(f32 arithmetic, int4 weights)") && !second.stderr.contains("quantizing"), "\(second.stderr)")
        }
        let scripted = try qwenAgent(["plan", "log out of the app", "--transcript", "/dev/null", "--weights", "int8"], display: nil)
        #expect(scripted.status == 64 && scripted.stderr.contains("--precision and --weights choose the embedded engine"), "\(scripted.stderr)")
        let unknown = try qwenAgent(["run", "log out of the app", "--weights", "int2"] + Self.modelArguments, display: nil)
        #expect(unknown.status == 64 && unknown.stderr.contains("'int2' is not one of bf16, int8, int4"), "\(unknown.stderr)")
    }

    @Test func theAgentLoopRunsOnTheEmbeddedEngine() throws {
        let profile = try Self.tinyProfile()
        defer { try? FileManager.default.removeItem(at: profile) }
        let session = FileManager.default.temporaryDirectory.appendingPathComponent("embedded-session-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: session) }
        try withVirtualDisplay(size: Size(width: 1280, height: 720)) { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            defer { withExtendedLifetime(app) {} }  // on the screen for the whole test
            let run = try qwenAgent(["log out of the app", "--agent", profile.path, "--max-steps", "2", "--session", session.path]
                                        + Self.modelArguments, display: virtual.name)
            // Noise never counts as success: the run ends with a typed, non-zero outcome.
            #expect([1, 2, 3, 4].contains(run.status), "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("model: embedded: ") && run.stdout.contains("── step 1 ──"))
            // Before the first token of a step, the user sees what the engine is reading.
            #expect(run.stdout.contains(" screenshot…]") && run.stdout.contains("[reading a prompt of "), "\(run.stdout)")
            let log = try SessionLog.read(session)
            #expect(log.header.model.kind == "embedded")
            // The session keeps the arithmetic and weights the model line named, and its report shows them.
            let mode = try #require(log.header.model.mode)
            #expect(mode.hasSuffix(" weights") && run.stdout.contains("(\(mode))  profile: tiny-test"), "\(mode) \(run.stdout)")
            #expect(SessionReport(log).html.contains("(embedded, \(mode)) · profile tiny-test"))
            #expect(!log.steps.isEmpty)
            // What each reply cost is printed and recorded; from the second step on, the system prompt and task come from the cache.
            let calls = log.steps.compactMap(\.modelCall)
            #expect(calls.count == log.steps.count && calls.first?.reusedTokens == 0, "\(calls)")
            #expect(calls.dropFirst().allSatisfy { ($0.reusedTokens ?? 0) > 0 }, "\(calls)")
            #expect(run.stdout.contains("  · ") && run.stdout.contains("prompt tokens"), "\(run.stdout)")
            #expect(log.outcome != nil && log.outcome?.outcome != "success")
        }
    }
}
