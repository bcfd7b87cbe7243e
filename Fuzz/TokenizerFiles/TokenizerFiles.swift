import FuzzSupport
import Qwen3VLPrompt

/// The tokenizer files of a model folder. The input is `vocab.json`, `merges.txt` and
/// `tokenizer_config.json` separated by `\n====\n`, or, with one piece only, `tokenizer.json`. What
/// loads must encode and decode text without crashing.
func fuzzTokenizerFiles(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = pieces(of: fuzzBytes(data, size), separatedBy: Array("\n====\n".utf8))
    let files: [(name: String, bytes: [UInt8])] = parts.count == 1
        ? [("tokenizer.json", parts[0])]
        : zip(["vocab.json", "merges.txt", "tokenizer_config.json"], parts).map { ($0, $1) }
    guard let tokenizer = try? Qwen3VL.Tokenizer.load(folder: Scratch.folder(with: files)) else { return 0 }
    let ids = tokenizer.encode("<|im_start|>user\nclick the OK button, 点击 🙂<|im_end|>")
    _ = tokenizer.decode(ids)
    _ = tokenizer.decode(ids.map { $0 &+ 1 }, skipSpecialTokens: true)
    return 0
}
