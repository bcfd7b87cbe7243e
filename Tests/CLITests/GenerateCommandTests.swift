import Foundation
import Testing
import TestSupportCore

@Suite("qwen-agent generate: the embedded engine alone")
struct GenerateCommandTests {

    @Test func theTinyGoldenModelGeneratesWhatTransformersDid() throws {
        let model = Repository.fixtures.appendingPathComponent("Golden/tiny-tied").path
        let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
        let run = try qwenAgent(["generate", "--model", model, "--tokenizer", tokenizer, "--raw", "Hello, world!", "--greedy",
                                 "--max-new-tokens", "12", "--json", "--precision", "f32", "--weights", "bf16"], display: nil)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        // transformers' greedy continuation of "Hello, world!" for this checkpoint (Fixtures/Golden/tiny-tied/golden.json).
        #expect(object["tokens"] as? [Int] == [121743, 56439, 66256, 134519, 140097, 87411, 86276, 69173, 66256, 56623, 88240, 79922])
        #expect(run.stderr.contains("decode 11 tokens at") && run.stderr.contains("f32 precision, bf16 weights"))
        #expect(object["precision"] as? String == "f32" && object["weights"] as? String == "bf16")
    }

    /// Without --precision and --weights the engine runs the fastest of each this CPU has: bf16 with
    /// AVX512_BF16, int8 weights with AVX512_VNNI; the JSON and the timing line say which ran.
    @Test func theDefaultModeIsTheFastestThisCPUSupports() throws {
        let model = Repository.fixtures.appendingPathComponent("Golden/tiny-tied").path
        let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
        let run = try qwenAgent(["generate", "--model", model, "--tokenizer", tokenizer, "--raw", "Hi", "--greedy", "--max-new-tokens", "2", "--json"],
                                display: nil)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let flags = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let precision = flags.contains(" avx512_bf16") ? "bf16" : "f32", weights = flags.contains(" avx512_vnni") ? "int8" : "bf16"
        #expect(object["precision"] as? String == precision && object["weights"] as? String == weights, "\(object)")
        #expect(run.stderr.contains("\(precision) precision, \(weights) weights"), "\(run.stderr)")
    }

    /// The CLI picks OpenBLAS kernels for the CPU even when the environment names weaker ones, and
    /// QWEN_AGENT_OPENBLAS_CORETYPE overrides its choice; the timing line names what ran.
    @Test func openBLASKernelsAreChosenForTheCPUUnlessTheUserSaysOtherwise() throws {
        let model = Repository.fixtures.appendingPathComponent("Golden/tiny-tied").path
        let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
        let arguments = ["generate", "--model", model, "--tokenizer", tokenizer, "--raw", "Hi", "--greedy", "--max-new-tokens", "2"]
        let flags = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let inherited = try qwenAgent(arguments, display: nil, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(inherited.status == 0, "\(inherited.stderr)")
        if flags.contains(" avx2") && flags.contains(" fma") {
            #expect(!inherited.stderr.contains("OpenBLAS Prescott kernels"), "\(inherited.stderr)")
        }
        let chosen = try qwenAgent(arguments, display: nil, environment: ["OPENBLAS_CORETYPE": "Prescott", "QWEN_AGENT_OPENBLAS_CORETYPE": "PRESCOTT"])
        #expect(chosen.status == 0 && chosen.stderr.contains("OpenBLAS Prescott kernels"), "\(chosen.stderr)")
        let unknown = try qwenAgent(arguments, display: nil, environment: ["QWEN_AGENT_OPENBLAS_CORETYPE": "NOSUCHCORE"])
        #expect(unknown.status == 0 && unknown.stderr.contains("QWEN_AGENT_OPENBLAS_CORETYPE=NOSUCHCORE is not a core type"), "\(unknown.stderr)")
    }

    @Test func anImageGoesBeforeThePromptAsItsVisionRows() throws {
        let model = Repository.fixtures.appendingPathComponent("Golden/tiny-tied").path
        let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
        let image = Repository.fixtures.appendingPathComponent("Golden/processor/image-0.png").path
        let base = ["generate", "--model", model, "--tokenizer", tokenizer, "--raw", "Where is the button?", "--greedy",
                    "--max-new-tokens", "4", "--json"]
        let textOnly = try qwenAgent(base, display: nil)
        let withImage = try qwenAgent(base + ["--image", image], display: nil)
        #expect(textOnly.status == 0 && withImage.status == 0, "\(withImage.stderr)")
        // 64x96 scaled up to the default 65,536-pixel minimum is 224x320: a 14x20 patch grid, 70 rows
        // after the 2x2 merge, plus <|vision_start|> and <|vision_end|>.
        #expect(textOnly.stderr.hasPrefix("prefill 5 tokens"))
        #expect(withImage.stderr.hasPrefix("prefill \(5 + 70 + 2) tokens"), "\(withImage.stderr)")
        let a = try #require(try JSONSerialization.jsonObject(with: Data(textOnly.stdout.utf8)) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(withImage.stdout.utf8)) as? [String: Any])
        #expect((a["tokens"] as? [Int]) != (b["tokens"] as? [Int]), "the image changes what the model says")
        // Without --json a person is told what the engine reads before the first token.
        let shown = try qwenAgent(base.filter { $0 != "--json" } + ["--image", image], display: nil)
        #expect(shown.stderr.hasPrefix("[reading a 96×64 image…]\n[reading a prompt of 77 tokens…]\nprefill 77 tokens"), "\(shown.stderr)")
        let missing = try qwenAgent(base + ["--image", "/nonexistent.png"], display: nil)
        #expect(missing.status == 65 && missing.stderr.contains("/nonexistent.png"))
    }

    /// The first int8 load of a checkpoint says that it quantizes and what it saves: the decoder's file
    /// for text alone, the vision tower's when an image needs it; loads that can map them say nothing.
    @Test func theFirstInt8LoadSaysItQuantizesAndSavesTheResult() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-int8-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Golden/tiny-tied"), to: folder)
        for name in ["qwen-agent-int8-text.bin", "qwen-agent-int8-vision.bin"] { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        let image = Repository.fixtures.appendingPathComponent("Golden/processor/image-0.png").path
        let base = ["generate", "--model", folder.path, "--tokenizer", Repository.fixtures.appendingPathComponent("QwenTokenizer").path,
                    "--raw", "Hi", "--greedy", "--max-new-tokens", "2", "--weights", "int8"]
        let said = "qwen-agent: quantizing \(folder.path) to int8 weights; saved there as "
        let text = try qwenAgent(base, display: nil)
        #expect(text.status == 0 && text.stderr.hasPrefix(said + "qwen-agent-int8-text.bin, so later loads skip this\n"), "\(text.stderr)")
        let image1 = try qwenAgent(base + ["--image", image], display: nil)
        #expect(image1.status == 0 && image1.stderr.hasPrefix(said + "qwen-agent-int8-vision.bin, so later loads skip this\n"), "\(image1.stderr)")
        let image2 = try qwenAgent(base + ["--image", image], display: nil)
        #expect(image2.status == 0 && !image2.stderr.contains("quantizing"), "\(image2.stderr)")
        #expect(image1.stdout == image2.stdout, "the saved weights give what the quantized ones gave")
    }

    @Test func aFolderWithoutATemplateOrWeightsIsAClearError() throws {
        let model = Repository.fixtures.appendingPathComponent("Golden/tiny-untied").path
        let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
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
