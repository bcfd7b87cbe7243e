import Foundation
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// `Fixtures/QwenTokenizer`: the Qwen vocab, merges, added-token table and HF reference cases.
private let fixtures = Repository.fixtures.appendingPathComponent("QwenTokenizer")

/// Loaded once: the full vocabulary takes a noticeable moment in a debug build.
private let shared = Result { try Qwen3VL.Tokenizer.load(folder: fixtures) }

private func makeTemporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appending(path: "tokenizer-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite struct TokenizerTests {
    /// The 46 llama.cpp cases, with the ids HF `transformers` produced for them.
    @Test func referenceCasesMatchHuggingFace() throws {
        let tokenizer = try shared.get()
        let inputs = try String(contentsOf: fixtures.appending(path: "tests/ggml-vocab-qwen2.gguf.inp"), encoding: .utf8)
        var cases = inputs.components(separatedBy: "\n__ggml_vocab_test__\n")
        if cases.last == "" { cases.removeLast() }
        let outputs = try String(contentsOf: fixtures.appending(path: "tests/ggml-vocab-qwen2.gguf.out"), encoding: .utf8)
            .components(separatedBy: "\n").prefix(cases.count)
            .map { $0.split(separator: " ").map { Int32($0)! } }
        #expect(cases.count == 46)
        #expect(outputs.count == cases.count)
        for (text, expected) in zip(cases, outputs) {
            let ids = tokenizer.encode(text)
            #expect(ids == expected, "\(text.debugDescription)")
            #expect(Array(tokenizer.decode(ids).utf8) == Array(text.precomposedStringWithCanonicalMapping.utf8))
        }
    }

    /// Ids from the reference implementation in `Fixtures/QwenTokenizer/check_qwen_tokenizer.py`
    /// (Python `regex` with the Qwen2 pattern, merges-based BPE), which matches all 46 HF cases.
    @Test(arguments: [
        ("(912, 40)", [7, 24, 16, 17, 11, 220, 19, 15, 8]),
        ("click(x=512, y=384)", [3678, 2075, 28, 20, 16, 17, 11, 379, 28, 18, 23, 19, 8]),
        ("我想在apple工作1314151天～ 你好，世界！",
         [104100, 18493, 22377, 99257, 16, 18, 16, 19, 16, 20, 16, 35727, 21216, 220, 108386, 3837, 99489, 6313]),
        ("Emoji: 😶\u{200D}🌫️ 🦙🚀 ✅", [92731, 25, 26525, 114, 378, 235, 149921, 30543, 11162, 99, 247, 145836, 25521, 227]),
        ("func main() {\n\tlet x = 1\n\t\treturn x\n}\n", [2830, 1887, 368, 341, 10217, 856, 284, 220, 16, 198, 197, 853, 856, 198, 532]),
        ("a  b   c    \n\n  d\t\t\n", [64, 220, 293, 256, 272, 14808, 220, 294, 2394]),
        ("I'll DON'T we'Ve they'RE it's she'd I'M",
         [40, 3278, 44273, 17323, 582, 6, 42612, 807, 94153, 432, 594, 1340, 4172, 358, 27603]),
        ("e\u{301}te\u{301}", [38783]),
        ("héllo 世界 🙂", [71, 18503, 385, 220, 99489, 27484]),
        ("<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [912, 40]}}\n</tool_call>",
         [151657, 198, 4913, 606, 788, 330, 43111, 15951, 497, 330, 16370, 788, 5212, 1311, 788, 330, 2359, 18631, 497, 330,
          62526, 788, 508, 24, 16, 17, 11, 220, 19, 15, 60, 11248, 151658]),
        ("Ünïcödé naïve café — «ça va?»", [52491, 77, 37572, 66, 2956, 128505, 94880, 586, 51950, 1959, 12486, 17472, 11164, 30, 12992]),
        ("   leading spaces\t\ttabs\r\n\r\nCRLF   trailing   ", [256, 6388, 12621, 197, 3244, 3435, 871, 34, 80658, 256, 27748, 262]),
        ("it'ſ 'x ''s", [275, 6, 144815, 364, 87, 3355, 82]),
        ("<|im_start <think </think>>", [27, 91, 318, 4906, 366, 26865, 220, 151668, 29]),
        ("Ⅻ ½ ٣ 𝟘", [70467, 104, 220, 26062, 220, 149, 96, 220, 56252, 253, 246]),
        ("\u{A0}\u{3000}x \u{2028} y", [4102, 22441, 87, 636, 101, 379]),
        ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
         [151644, 872, 198, 151652, 151655, 151653, 74785, 419, 2168, 13, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271]),
    ] as [(String, [Int32])])
    func corpusMatchesReference(text: String, expected: [Int32]) throws {
        let tokenizer = try shared.get()
        #expect(tokenizer.encode(text) == expected)
        #expect(Array(tokenizer.decode(expected).utf8) == Array(text.precomposedStringWithCanonicalMapping.utf8))
    }

    @Test func digitsAreOneTokenEach() throws {
        let tokenizer = try shared.get()
        let digitIDs = (0...9).map { tokenizer.encode(String($0)) }
        #expect(digitIDs.allSatisfy { $0.count == 1 })
        #expect(digitIDs.map { $0[0] } == Array(15...24))
        let ids = tokenizer.encode("[1234567890, 5]")
        #expect(ids.filter { (15...24).contains($0) }.count == 11)
    }

    @Test func addedTokensAreMatchedWhole() throws {
        let tokenizer = try shared.get()
        #expect(tokenizer.encode("<|im_start|>user\n").first == Qwen3VL.SpecialToken.imStart)
        #expect(tokenizer.encode("<think>") == [Qwen3VL.SpecialToken.thinkStart])
        #expect(tokenizer.encode("a<|im_end|>b") == [64, Qwen3VL.SpecialToken.imEnd, 65])
        // Added tokens are matched in the raw text, before NFC: a combining mark after one stays separate.
        #expect(tokenizer.encode("</think>\u{301}").first == Qwen3VL.SpecialToken.thinkEnd)
    }

    @Test func specialTokenConstantsAndTheConfigsVisionTokensMatchTheTokenizer() throws {
        let tokenizer = try shared.get()
        let config = try Qwen3VL.Configuration(contentsOf: Repository.fixtures.appendingPathComponent("Qwen3VLConfig/config.json"))
        let named: [(String, Int32)] = [
            ("<|endoftext|>", Qwen3VL.SpecialToken.endOfText), ("<|im_start|>", Qwen3VL.SpecialToken.imStart),
            ("<|im_end|>", Qwen3VL.SpecialToken.imEnd), ("<|vision_start|>", Int32(config.visionStartTokenID)),
            ("<|vision_end|>", Int32(config.visionEndTokenID)), ("<|image_pad|>", Int32(config.imageTokenID)),
            ("<|video_pad|>", Int32(config.videoTokenID)), ("<tool_call>", Qwen3VL.SpecialToken.toolCallStart),
            ("</tool_call>", Qwen3VL.SpecialToken.toolCallEnd), ("<think>", Qwen3VL.SpecialToken.thinkStart),
            ("</think>", Qwen3VL.SpecialToken.thinkEnd),
        ]
        for (content, id) in named { #expect(tokenizer.addedTokenID(content) == id, "\(content)") }
        #expect(tokenizer.count == 151669)
        #expect(tokenizer.isSpecial(Qwen3VL.SpecialToken.imEnd))
        #expect(!tokenizer.isSpecial(Qwen3VL.SpecialToken.thinkStart))
    }

    @Test func skipSpecialTokensDropsOnlySpecialOnes() throws {
        let tokenizer = try shared.get()
        let ids = tokenizer.encode("<|im_start|>assistant\n<think>\nok</think><|im_end|>")
        #expect(tokenizer.decode(ids, skipSpecialTokens: true) == "assistant\n<think>\nok</think>")
        #expect(tokenizer.decode(ids) == "<|im_start|>assistant\n<think>\nok</think><|im_end|>")
    }

    @Test(arguments: ["héllo 世界 🙂", "a 🦙🚀 b 😶\u{200D}🌫️"])
    func streamDecoderHoldsBackIncompleteCharacters(text: String) throws {
        let tokenizer = try shared.get()
        var decoder = Qwen3VL.Tokenizer.StreamDecoder(tokenizer: tokenizer)
        var output = ""
        for id in tokenizer.encode(text) {
            let chunk = decoder.append(id)
            #expect(!chunk.unicodeScalars.contains("\u{FFFD}"))
            output += chunk
        }
        output += decoder.finish()
        #expect(Array(output.utf8) == Array(text.utf8))
    }

    @Test func streamDecoderIsNeededForSplitEmoji() throws {
        // " 🦙" is three tokens; alone, the first decodes to garbage. This is what the stream decoder prevents.
        let tokenizer = try shared.get()
        let ids = tokenizer.encode(" 🦙")
        #expect(ids.count == 3)
        #expect(tokenizer.decode([ids[0]]).unicodeScalars.contains("\u{FFFD}"))
        var decoder = Qwen3VL.Tokenizer.StreamDecoder(tokenizer: tokenizer)
        #expect(ids.map { decoder.append($0) } == [" ", "", "🦙"])
    }

    /// The same vocabulary and merges as an HF `tokenizer.json` (pair-style merges) encode the same way.
    @Test func loadsTokenizerJSON() throws {
        let vocab = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appending(path: "vocab.json")))
        let merges = try String(contentsOf: fixtures.appending(path: "merges.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: " ").map(String.init) }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appending(path: "tokenizer_config.json")))
        let decoder = (config as! [String: Any])["added_tokens_decoder"] as! [String: [String: Any]]
        let added = decoder.map { key, token in ["id": Int(key)!, "content": token["content"]!, "special": token["special"]!] }
        let file: [String: Any] = ["model": ["type": "BPE", "vocab": vocab, "merges": merges], "added_tokens": added]
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try JSONSerialization.data(withJSONObject: file).write(to: folder.appending(path: "tokenizer.json"))

        let fromJSON = try Qwen3VL.Tokenizer.load(folder: folder)
        let reference = try shared.get()
        for text in ["<|im_start|>user\nClick (912, 40)<|im_end|>", "我想在apple工作 🦙", "I'll DON'T\n\n  x"] {
            #expect(fromJSON.encode(text) == reference.encode(text))
        }
    }

    /// A tiny `tokenizer.json` with string-style merges: every byte, then "ab" and "abc".
    @Test func loadsSyntheticTokenizerJSON() throws {
        var vocab: [String: Int] = [:]
        var extra = 0
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            let scalar = printable ? Unicode.Scalar(UInt8(byte)) : Unicode.Scalar(0x100 + extra)!
            if !printable { extra += 1 }
            vocab[String(scalar)] = byte
        }
        vocab["ab"] = 256
        vocab["abc"] = 257
        let file: [String: Any] = [
            "model": ["vocab": vocab, "merges": ["a b", "ab c"]],
            "added_tokens": [["id": 258, "content": "<x>", "special": true]],
        ]
        let url = try makeTemporaryFolder().appending(path: "tokenizer.json")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try JSONSerialization.data(withJSONObject: file).write(to: url)

        let tokenizer = try Qwen3VL.Tokenizer(tokenizerJSON: url)
        // "abcab": (a,b) merges at both places, leftmost first; then (ab,c).
        #expect(tokenizer.encode("abcab<x> a") == [257, 256, 258, 32, 97])
        #expect(tokenizer.decode([257, 256, 258], skipSpecialTokens: true) == "abcab")
        // The same bytes from memory (what the fuzz target reads) load the same tokenizer.
        let fromMemory = try Qwen3VL.Tokenizer(tokenizerJSON: .init(url: url, data: Data(contentsOf: url)))
        #expect(fromMemory.encode("abcab<x> a") == [257, 256, 258, 32, 97])
    }

    /// The slow-tokenizer files' bytes from memory (what the fuzz target reads) load what the folder
    /// loads, and their errors name the file as the folder's do.
    @Test func slowTokenizerFilesFromMemoryLoadLikeTheFolder() throws {
        let file = { (name: String) in
            try Qwen3VL.Tokenizer.FileContents(url: fixtures.appending(path: name), data: Data(contentsOf: fixtures.appending(path: name)))
        }
        let fromMemory = try Qwen3VL.Tokenizer(vocabulary: file("vocab.json"), merges: file("merges.txt"), config: file("tokenizer_config.json"))
        let reference = try shared.get()
        #expect(fromMemory.count == reference.count)
        for text in ["<|im_start|>user\nClick (912, 40)<|im_end|>", "我想在apple工作 🦙"] {
            #expect(fromMemory.encode(text) == reference.encode(text))
        }
        let broken = Qwen3VL.Tokenizer.FileContents(url: URL(fileURLWithPath: "/m/merges.txt"), data: Data("a b\nc".utf8))
        #expect {
            try Qwen3VL.Tokenizer(vocabulary: file("vocab.json"), merges: broken, config: file("tokenizer_config.json"))
        } throws: { error in
            (error as? Qwen3VL.TokenizerError)?.message.hasPrefix("/m/merges.txt: merge 1 is not two tokens") == true
        }
    }

    @Test func missingFilesAreNamed() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try Qwen3VL.Tokenizer.load(folder: folder)
        } throws: { error in
            let error = error as? Qwen3VL.TokenizerError
            return error?.code == .missingFile && error!.message.contains("no tokenizer.json or vocab.json")
        }
        try FileManager.default.copyItem(at: fixtures.appending(path: "vocab.json"), to: folder.appending(path: "vocab.json"))
        #expect {
            try Qwen3VL.Tokenizer.load(folder: folder)
        } throws: { error in
            let error = error as? Qwen3VL.TokenizerError
            return error?.code == .missingFile && error!.message.contains("merges.txt")
        }
    }

    @Test func corruptFilesAreNamed() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("{\"a\": 0,".utf8).write(to: folder.appending(path: "vocab.json"))
        try Data().write(to: folder.appending(path: "merges.txt"))
        try Data("{}".utf8).write(to: folder.appending(path: "tokenizer_config.json"))
        #expect {
            try Qwen3VL.Tokenizer.load(folder: folder)
        } throws: { error in
            let error = error as? Qwen3VL.TokenizerError
            return error?.code == .invalidFile && error!.message.contains("vocab.json")
        }
        try Data("{\"model\": {\"vocab\": {}, \"merges\": [\"a\"]}}".utf8).write(to: folder.appending(path: "tokenizer.json"))
        #expect {
            try Qwen3VL.Tokenizer.load(folder: folder)
        } throws: { error in
            let error = error as? Qwen3VL.TokenizerError
            return error?.code == .invalidFile && error!.message.contains("tokenizer.json")
        }
    }
}
