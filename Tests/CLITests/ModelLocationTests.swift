import Foundation
import TestSupportCore
import Testing

/// `--model OWNER/NAME` finds a model in the local Hugging Face cache, with no network; a missing
/// model says which command downloads it. Each test builds its own cache tree in a temporary folder.
@Suite("Models by Hugging Face repo id, from the local cache")
struct ModelLocationTests {
    static let tinyModel = Repository.fixtures.appendingPathComponent("Golden/tiny-tied")
    static let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
    /// transformers' greedy continuation of "Hello, world!" for the tiny checkpoint (GenerateCommandTests).
    static let golden = [121743, 56439, 66256, 134519, 140097, 87411, 86276, 69173, 66256, 56623, 88240, 79922]
    static let arguments = ["--tokenizer", tokenizer, "--raw", "Hello, world!", "--greedy", "--max-new-tokens", "12", "--json", "--precision", "f32", "--weights", "bf16"] // float32 on the stored weights: the golden tokens are transformers float32's

    /// A cache laid out as huggingface_hub writes it: files in `blobs/`, `snapshots/REV/` linking to
    /// them, `refs/main` naming the revision. `decoy` adds an empty snapshot that refs/main does not name.
    func makeCache(at hub: URL, repository: String, revision: String, decoy: Bool = false) throws {
        let root = hub.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"))
        let blobs = root.appendingPathComponent("blobs"), snapshot = root.appendingPathComponent("snapshots/\(revision)")
        for folder in [blobs, snapshot, root.appendingPathComponent("refs")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        for (index, name) in try FileManager.default.contentsOfDirectory(atPath: Self.tinyModel.path).enumerated() {
            try FileManager.default.copyItem(at: Self.tinyModel.appendingPathComponent(name), to: blobs.appendingPathComponent("blob\(index)"))
            try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path,
                                                       withDestinationPath: "../../blobs/blob\(index)")
        }
        try Data("\(revision)\n".utf8).write(to: root.appendingPathComponent("refs/main"))
        if decoy { try FileManager.default.createDirectory(at: root.appendingPathComponent("snapshots/0000decoy"), withIntermediateDirectories: true) }
    }

    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func aRepoIdIsFoundUnderHFHomeFollowingRefsMain() throws {
        let home = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: home) }
        try makeCache(at: home.appendingPathComponent("hub"), repository: "Qwen/Tiny-VL", revision: "9f1c2ab", decoy: true)
        let run = try qwenAgent(["generate", "--model", "Qwen/Tiny-VL"] + Self.arguments, display: nil,
                                environment: ["HF_HOME": home.path, "HF_HUB_CACHE": "", "HF_HUB_OFFLINE": "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(object?["tokens"] as? [Int] == Self.golden)
    }

    @Test func hfHubCacheComesBeforeHFHomeAndTheDefaultIsUnderHome() throws {
        let cache = try temporaryFolder(), home = try temporaryFolder()
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: home)
        }
        try makeCache(at: cache, repository: "Qwen/Tiny-VL", revision: "abc")
        let viaCache = try qwenAgent(["generate", "--model", "Qwen/Tiny-VL"] + Self.arguments, display: nil,
                                     environment: ["HF_HUB_CACHE": cache.path, "HF_HOME": "/nonexistent"])
        #expect(viaCache.status == 0, "\(viaCache.stderr)")
        try makeCache(at: home.appendingPathComponent(".cache/huggingface/hub"), repository: "Qwen/Tiny-VL", revision: "def")
        let viaHome = try qwenAgent(["generate", "--model", "Qwen/Tiny-VL"] + Self.arguments, display: nil,
                                    environment: ["HOME": home.path, "HF_HUB_CACHE": "", "HF_HOME": "", "XDG_CACHE_HOME": ""])
        #expect(viaHome.status == 0, "\(viaHome.stderr)")
    }

    @Test func aMissingRepoSaysWhereItLookedAndHowToDownloadIt() throws {
        let home = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: home) }
        let run = try qwenAgent(["generate", "--model", "Qwen/Qwen3-VL-2B-Thinking", "hi"], display: nil,
                                environment: ["HF_HOME": home.path, "HF_HUB_CACHE": ""])
        #expect(run.status == 65)
        #expect(run.stderr.contains(home.appendingPathComponent("hub").path), "\(run.stderr)")
        #expect(run.stderr.contains("hf download Qwen/Qwen3-VL-2B-Thinking"))
        #expect(run.stderr.split(separator: "\n").count == 1)
        // The agent's --model takes a repo id the same way, before any display is opened.
        let agent = try qwenAgent(["log out of the app", "--model", "Qwen/Qwen3-VL-2B-Thinking"], display: nil,
                                  environment: ["HF_HOME": home.path, "HF_HUB_CACHE": ""])
        #expect(agent.status == 65 && agent.stderr.contains("hf download Qwen/Qwen3-VL-2B-Thinking"), "\(agent.stderr)")
    }

    @Test func generateHonoursQwenAgentModel() throws {
        let run = try qwenAgent(["generate"] + Self.arguments, display: nil, environment: ["QWEN_AGENT_MODEL": Self.tinyModel.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["tokens"] as? [Int] == Self.golden)
        let none = try qwenAgent(["generate", "hi"], display: nil, environment: ["QWEN_AGENT_MODEL": ""])
        #expect(none.status == 64 && none.stderr.contains("QWEN_AGENT_MODEL"), "\(none.stderr)")
    }

    @Test func missingFoldersAndTokenizerFilesAreSaidInTheToolsWords() throws {
        let missing = try qwenAgent(["generate", "--model", "/nonexistent/model", "hi"], display: nil)
        #expect(missing.status == 65)
        #expect(missing.stderr == "qwen-agent: there is no folder /nonexistent/model; give a folder, or a Hugging Face repo id such as Qwen/Qwen3-VL-2B-Thinking\n")
        let noTokenizer = try qwenAgent(["generate", "--model", Self.tinyModel.path, "--raw", "hi"], display: nil)
        #expect(noTokenizer.status == 65 && noTokenizer.stderr.contains("give --tokenizer DIR"), "\(noTokenizer.stderr)")
        let image = try qwenAgent(["generate", "--model", Self.tinyModel.path, "--tokenizer", Self.tokenizer, "--image", "/nonexistent.png", "hi"],
                                  display: nil)
        #expect(image.status == 65 && image.stderr == "qwen-agent: cannot read --image /nonexistent.png: there is no such file\n", "\(image.stderr)")
    }
}
