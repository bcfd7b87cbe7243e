import Foundation
import FuzzSupport
import Qwen3VL
import Qwen3VLPrompt

/// A `.safetensors` file from a damaged download or a hostile folder: it opens or fails with a message,
/// and every tensor it admits is read whole (AddressSanitizer catches a view past the mapping).
func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let folder = Scratch.folder(with: [("model.safetensors", fuzzBytes(data, size))])
    guard let file = try? Qwen3VL.Safetensors(contentsOf: folder.appendingPathComponent("model.safetensors")) else { return 0 }
    for name in file.names {
        let tensor = try! file.tensor(named: name)
        let count = tensor.shape.reduce(1, *)
        let values = tensor.floats()
        precondition(values.count == count, "\(name): \(values.count) values for shape \(tensor.shape)")
    }
    return 0
}
