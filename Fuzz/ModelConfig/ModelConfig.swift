import Foundation
import FuzzSupport
import Qwen3VLPrompt

/// `config.json`, `generation_config.json` and `preprocessor_config.json` of a model folder, each
/// decoded from the same bytes as the files are (`decodeConfig`, which reading a file ends in): a
/// configuration or an error that names the file.
func fuzzModelConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(fuzzBytes(data, size))
    expectConfig(Qwen3VL.Configuration.self, bytes, "config.json")
    expectConfig(Qwen3VL.GenerationConfig.self, bytes, "generation_config.json")
    expectConfig(Qwen3VL.PreprocessorConfig.self, bytes, "preprocessor_config.json")
    return 0
}

private func expectConfig<Config: Decodable>(_ type: Config.Type, _ bytes: Data, _ name: String) {
    do {
        _ = try decodeConfig(type, from: bytes, path: name)
    } catch {
        precondition((error as? Qwen3VL.WeightsError)?.message.hasPrefix("\(name): ") == true, "an error that does not name \(name): \(error)")
    }
}
