import Foundation
import Testing

@Suite("qwen-agent generate: the embedded engine alone")
struct GenerateCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theTinyGoldenModelGeneratesWhatTransformersDid() throws {
        let model = Self.root.appendingPathComponent("Fixtures/Golden/tiny-tied").path
        let tokenizer = Self.root.appendingPathComponent("Fixtures/QwenTokenizer").path
        let run = try qwenAgent(["generate", "--model", model, "--tokenizer", tokenizer, "--raw", "Hello, world!", "--greedy",
                                 "--max-new-tokens", "12", "--json"], display: nil)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        // transformers' greedy continuation of "Hello, world!" for this checkpoint (Fixtures/Golden/tiny-tied/golden.json).
        #expect(object["tokens"] as? [Int] == [121743, 56439, 66256, 134519, 140097, 87411, 86276, 69173, 66256, 56623, 88240, 79922])
        #expect(run.stderr.contains("decode 11 tokens at"))
    }

    @Test func aFolderWithoutATemplateOrWeightsIsAClearError() throws {
        let model = Self.root.appendingPathComponent("Fixtures/Golden/tiny-tied").path
        let tokenizer = Self.root.appendingPathComponent("Fixtures/QwenTokenizer").path
        let noTemplate = try qwenAgent(["generate", "--model", model, "--tokenizer", tokenizer, "hi"], display: nil)
        #expect(noTemplate.status == 65 && noTemplate.stderr.contains("give --raw"))
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = try qwenAgent(["generate", "--model", empty.path, "--raw", "hi"], display: nil)
        #expect(missing.status == 65 && missing.stderr.hasPrefix("qwen-agent: cannot load the model"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
    }
}
