import Foundation
import FuzzSupport
import Qwen3VLPrompt

/// `config.json`, `generation_config.json` and `preprocessor_config.json` of a model folder, each
/// read from the same bytes: a configuration or a one-line error.
func fuzzModelConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let folder = Scratch.folder(with: [("config.json", bytes)])
    let url = folder.appendingPathComponent("config.json")
    _ = try? Qwen3VL.Configuration(contentsOf: url)
    _ = try? Qwen3VL.GenerationConfig(contentsOf: url)
    _ = try? Qwen3VL.PreprocessorConfig(contentsOf: url)
    return 0
}
