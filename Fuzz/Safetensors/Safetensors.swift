import Foundation
import FuzzSupport
import Qwen3VL
import Qwen3VLPrompt

/// A `.safetensors` file from a damaged download or a hostile folder: it opens or fails with a message,
/// and every tensor it admits is read whole. The bytes are validated from memory, in a copy of exactly
/// their size, so AddressSanitizer catches a view even one byte past the end.
func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let file = try? Qwen3VL.Safetensors(bytes: fuzzBytes(data, size), url: safetensorsName) else { return 0 }
    for name in file.names {
        let tensor = try! file.tensor(named: name)
        let count = tensor.shape.reduce(1, *)
        let values = tensor.floats()
        precondition(values.count == count, "\(name): \(values.count) values for shape \(tensor.shape)")
    }
    return 0
}

private let safetensorsName = URL(fileURLWithPath: "/fuzz/model.safetensors")
