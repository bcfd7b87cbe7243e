import Foundation
import FuzzSupport
import Qwen3VLPrompt

/// The tokenizer files of a model folder. The input is `vocab.json`, `merges.txt` and
/// `tokenizer_config.json` separated by `\n====\n`, or, with one piece only, `tokenizer.json`; they are
/// read from memory, as `Tokenizer.load(folder:)` reads the files. What loads must encode and decode
/// text without crashing.
func fuzzTokenizerFiles(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = pieces(of: fuzzBytes(data, size), separatedBy: Array("\n====\n".utf8)).map { Data($0) }
    let file = { (index: Int, name: String) in
        Qwen3VL.Tokenizer.FileContents(url: tokenizerFolder.appending(path: name), data: index < parts.count ? parts[index] : Data())
    }
    let loaded = parts.count == 1
        ? try? Qwen3VL.Tokenizer(tokenizerJSON: file(0, "tokenizer.json"))
        : try? Qwen3VL.Tokenizer(vocabulary: file(0, "vocab.json"), merges: file(1, "merges.txt"), config: file(2, "tokenizer_config.json"))
    guard let tokenizer = loaded else { return 0 }
    let ids = tokenizer.encode("<|im_start|>user\nclick the OK button, 点击 🙂<|im_end|>")
    _ = tokenizer.decode(ids)
    _ = tokenizer.decode(ids.map { $0 &+ 1 }, skipSpecialTokens: true)
    return 0
}

private let tokenizerFolder = URL(fileURLWithPath: "/fuzz", isDirectory: true)
