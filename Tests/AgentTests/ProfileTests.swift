@testable import Agent
@testable import AgentCore
import Foundation
import Imaging
import Models
import Qwen3VLPrompt
import TestSupport
import Testing
import TestSupportCore

/// Profiles are checked data: every key known, every choice one of the accepted ones, every number in
/// range, and any problem one line that names the file and the key.
@Suite("Agent profiles are checked when read")
struct ProfileTests {
    static let agents = Repository.agents

    // MARK: Built-in profiles

    /// The binary carries Agents/*.json as they are in the repository (scripts/embed-resources).
    @Test func builtInProfilesAreTheAgentsFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.agents.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(BuiltInProfiles.all.map { $0.name + ".json" } == files, "run scripts/embed-resources")
        for (name, json) in BuiltInProfiles.all {
            let file = try String(contentsOf: Self.agents.appendingPathComponent(name + ".json"), encoding: .utf8)
            #expect(json + "\n" == file, "\(name) differs from Agents/\(name).json: run scripts/embed-resources")
        }
    }

    @Test func builtInDefaultsAreTheOfficialAgentsOnes() throws {
        let thinking = try Profile.load("desktop-thinking", searching: [])
        #expect(thinking.origin == "built in")
        #expect(thinking.shape == .thinking && thinking.coordinateSpace == .relative1000)
        #expect(thinking.generation.maxThinkingTokens == 32768 && thinking.generation.maxNewTokens == 40960)
        #expect(thinking.image.limits(for: .served) == ModelImage.Limits(minPixels: 3136, maxPixels: 12_845_056))
        #expect(thinking.image.limits(for: .scripted) == thinking.image.limits(for: .served))
        #expect(thinking.image.limits(for: .embedded) == ModelImage.Limits(minPixels: 3136, maxPixels: 921_600))
        #expect(thinking.history.recentSteps == 3 && thinking.history.previousActions == 50)
        #expect(thinking.tool.extensions.isEmpty)
        let instruct = try Profile.load("desktop-instruct", searching: [])
        #expect(instruct.shape == .instruct && instruct.generation.presencePenalty == 1.5)
    }

    // MARK: Finding a profile

    @Test func aFileInASearchedFolderOverridesTheBuiltInProfile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write(folder.appendingPathComponent("desktop-thinking.json")) { $0["step_limit"] = 7 }
        let profile = try Profile.load("desktop-thinking", searching: [folder])
        #expect(profile.stepLimit == 7)
        #expect(profile.origin == folder.appendingPathComponent("desktop-thinking.json").path)
        #expect(try Profile.load("desktop-instruct", searching: [folder]).origin == "built in")
    }

    @Test func anUnknownNameSaysWhereItLookedAndSuggestsOne() throws {
        let error = try #require(throws: ProfileError.self) { try Profile.load("desktop-thinkin", searching: [URL(fileURLWithPath: "/nowhere")]) }
        #expect(error.message == "no agent profile 'desktop-thinkin': no desktop-thinkin.json in /nowhere, and the built-in ones are "
            + "auto, desktop-instruct, desktop-thinking; did you mean 'desktop-thinking'?; pass --agent NAME or a .json file")
    }

    @Test func searchFoldersAreListedOnce() {
        let paths = Profile.searchFolders.map(\.standardizedFileURL.path)
        #expect(Set(paths).count == paths.count, "\(paths)")
        #expect(paths.last?.hasSuffix(".config/qwen-agent/agents") == true)
    }

    // MARK: Errors in one line

    /// Before, an unknown model_shape silently became thinking and an unknown coordinate_space made
    /// `replay --heal` use relative coordinates.
    @Test func anUnknownChoiceNamesTheFieldAndTheAcceptedValues() throws {
        #expect(try Self.error { $0["model_shape"] = "thinkng" }
            == "model_shape is 'thinkng'; it must be one of thinking, instruct; did you mean 'thinking'?")
        #expect(try Self.error { $0["coordinate_space"] = "pixel" }
            == "coordinate_space is 'pixel'; it must be one of relative, pixels, resized:WxH; did you mean 'pixels'?")
        #expect(try Self.error { $0["tool"] = ["extensions": ["call_usr"]] }
            == "tool.extensions is 'call_usr'; it must be one of left_mouse_down, left_mouse_up, call_user, start_coordinate; did you mean 'call_user'?")
    }

    @Test func aMisspelledKeyIsAnErrorWithASuggestion() throws {
        let top = try Self.error { $0["step_limt"] = 5 }
        #expect(top.hasPrefix("unknown key 'step_limt'; did you mean 'step_limit'? (known here: name, model_shape, "))
        let nested = try Self.error { profile in
            var generation = profile["generation"] as! [String: Any]
            generation["top_pp"] = 0.9
            profile["generation"] = generation
        }
        #expect(nested.hasPrefix("unknown key 'generation.top_pp'; did you mean 'top_p'?"))
        let renamed = try Self.error { $0["history"] = ["screenshots": 2, "steps_as_text": 12] }
        #expect(renamed.hasPrefix("history.screenshots was renamed: use history.recent_steps"))
    }

    @Test(arguments: [
        ("step_limit", 0, "step_limit is 0; it must be at least 1"),
        ("step_timeout_seconds", 0, "step_timeout_seconds is 0; it must be a positive number of seconds"),
        ("generation.temperature", -0.5, "generation.temperature is -0.5; it must be 0 or more (0 is greedy)"),
        ("generation.top_p", 0, "generation.top_p is 0; it must be above 0 and at most 1"),
        ("generation.top_p", 1.5, "generation.top_p is 1.5; it must be above 0 and at most 1"),
        ("generation.top_k", 0, "generation.top_k is 0; it must be at least 1"),
        ("generation.presence_penalty", 3, "generation.presence_penalty is 3; it must be between -2 and 2"),
        ("generation.max_new_tokens", 0, "generation.max_new_tokens is 0; it must be at least 1"),
        ("generation.max_thinking_tokens", 40960,
         "generation.max_thinking_tokens is 40960; it must be below generation.max_new_tokens (40960), which also holds the answer after the reasoning"),
        ("image.min_pixels", 0, "image.min_pixels is 0; it must be at least 1"),
        ("image.max_pixels", 1000, "image.max_pixels is 1000; it must be at least image.min_pixels (3136)"),
        ("image.embedded_max_pixels", 0, "image.embedded_max_pixels is 0; it must be at least image.min_pixels (3136)"),
        ("history.recent_steps", -1, "history.recent_steps is -1; it must be 0 or more"),
        ("history.previous_actions", -2, "history.previous_actions is -2; it must be 0 or more"),
    ] as [(String, Double, String)])
    func numbersOutsideTheirRangeAreRefused(field: String, value: Double, message: String) throws {
        let parts = field.split(separator: ".").map(String.init)
        let error = try Self.error { profile in
            if parts.count == 1 {
                profile[parts[0]] = value
            } else {
                var inner = profile[parts[0]] as! [String: Any]
                inner[parts[1]] = value
                profile[parts[0]] = inner
            }
        }
        #expect(error == message)
    }

    @Test func wrongTypesMissingKeysAndBrokenJSONAreOneLine() throws {
        #expect(try Self.error { $0["step_limit"] = "30" } == "step_limit must be a whole number")
        #expect(try Self.error { $0["system_prompt"] = nil } == "the key 'system_prompt' is missing")
        #expect(try Self.error { $0["tool"] = ["description": "No size here."] }
            .hasPrefix("tool.description has no {resolution}; put it where the screen's size goes"))
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("broken.json")
        try Data("{\n  \"name\": \"x\",\n  oops\n}".utf8).write(to: broken)
        let error = try #require(throws: ProfileError.self) { try Profile.load(broken.path) }
        #expect(error.message.hasPrefix("the agent profile \(broken.path): it is not valid JSON ("), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func maxPixelsOverrideAppliesToEveryBackendAndKeepsTheMinimum() throws {
        var profile = try Profile.load("desktop-thinking", searching: [])
        try profile.overrideMaxPixels(1_003_520)
        #expect(profile.image.limits(for: .served).maxPixels == 1_003_520 && profile.image.limits(for: .embedded).maxPixels == 1_003_520)
        let error = try #require(throws: ProfileError.self) { try profile.overrideMaxPixels(100) }
        #expect(error.message == "--max-pixels 100 is below the profile's image.min_pixels (3136); give at least that")
    }

    // MARK: The system message

    /// The profile's system message is what the chat template itself writes when given the tool:
    /// one `# Tools` block, built in one place.
    @Test func systemMessageIsTheTemplatesToolsBlock() throws {
        let profile = try Profile.load("desktop-thinking", searching: [])
        let message = profile.systemMessage(for: .relative1000, imageSize: Size(width: 1920, height: 1088))
        #expect(message.contains("* The screen's resolution is 1000x1000.\\n"))
        let template = Qwen3VL.ChatTemplate(.thinking)
        let user = Qwen3VL.ChatTemplate.Message(role: "user", content: .parts([.image, .text("log out")]))
        let byTemplate = template.render(
            [Qwen3VL.ChatTemplate.Message(role: "system", content: .text(profile.systemPrompt)), user],
            tools: [ToolSchema.computerUse(resolution: Size(width: 1000, height: 1000))], addGenerationPrompt: true)
        let byProfile = template.render([Qwen3VL.ChatTemplate.Message(role: "system", content: .text(message)), user], addGenerationPrompt: true)
        #expect(byProfile == byTemplate)
    }

    @Test func pixelProfilesStateTheSizeOfTheImageSent() throws {
        var profile = try Profile.load("desktop-instruct", searching: [])
        profile.coordinateSpace = .imagePixels
        let sent = ModelImage.shape(for: Size(width: 1366, height: 768), limits: profile.image.limits(for: .served), space: profile.coordinateSpace)
        let message = profile.systemMessage(for: sent.space, imageSize: sent.size)
        #expect(message.contains("The screen's resolution is 1376x768."))
        profile.tool.extensions = ["call_user"]
        #expect(profile.systemMessage(for: sent.space, imageSize: sent.size).contains("* `call_user`: "))
    }

    // MARK: Helpers

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Writes desktop-thinking.json, changed by `change`, to `url`.
    static func write(_ url: URL, _ change: (inout [String: Any]) -> Void) throws {
        var profile = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: agents.appendingPathComponent("desktop-thinking.json"))) as? [String: Any])
        change(&profile)
        try JSONSerialization.data(withJSONObject: profile).write(to: url)
    }

    /// The message loading desktop-thinking.json changed by `change` gives, without the "the agent profile PATH: " prefix.
    static func error(_ change: (inout [String: Any]) -> Void) throws -> String {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("changed.json")
        try write(url, change)
        let error = try #require(throws: ProfileError.self) { try Profile.load(url.path) }
        let prefix = "the agent profile \(url.path): "
        #expect(error.message.hasPrefix(prefix) && !error.message.contains("\n"), "\(error.message)")
        return String(error.message.dropFirst(prefix.count))
    }
}
