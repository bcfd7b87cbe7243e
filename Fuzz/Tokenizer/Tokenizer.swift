import Foundation
import FuzzSupport
import Qwen3VLPrompt

/// Qwen's tokenizer (the real vocabulary from Fixtures/QwenTokenizer) on hostile text: chat markup,
/// broken UTF-8, combining marks. Text that NFC leaves alone comes back byte for byte; any text's
/// decoded tokens encode to the same tokens again.
/// Loaded before the first input (main.swift), so its seconds under AddressSanitizer do not count as a hang.
let tokenizer = try! Qwen3VL.Tokenizer.load(folder: fixturesFolder.appendingPathComponent("QwenTokenizer"))

func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let ids = tokenizer.encode(text)
    let decoded = tokenizer.decode(ids)
    if text.unicodeScalars.allSatisfy({ $0.value < 0x300 }) {
        precondition(decoded == text, "\(text.debugDescription) came back as \(decoded.debugDescription)")
    }
    _ = tokenizer.decode(ids, skipSpecialTokens: true)
    return 0
}
