import Foundation
import Testing
import TestSupportCore

@testable import Qwen3VL
import Qwen3VLPrompt

/// Quantized weights are saved next to the checkpoint the first time they are made, later loads map
/// that file and compute exactly what quantizing at load computes, and a damaged file or one made from
/// another version of the checkpoint is noticed and made again.
@Suite("Saved quantized weights")
struct QuantizedStoreTests {
    /// A writable copy of the tiny golden checkpoint.
    static func copyOfCheckpoint() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quantized-store-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TextModelGoldenTests.golden.appendingPathComponent("tiny-tied"), to: folder)
        return folder
    }

    /// The decoder layers' matrices, and the others (output, vision tower).
    static func matrices(_ text: Qwen3VL.TextModel, _ vision: Qwen3VL.VisionTower) -> (layers: [Qwen3VL.Weight], others: [Qwen3VL.Weight]) {
        (text.layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.gate, $0.up, $0.down] },
         [text.output] + vision.blocks.flatMap { [$0.qkvWeight, $0.projWeight, $0.fc1Weight, $0.fc2Weight] })
    }

    /// Where each part's matrices came from: true when every quantized matrix is mapped from the saved file.
    static func mapped(_ text: Qwen3VL.TextModel, _ vision: Qwen3VL.VisionTower) -> Bool {
        let (layers, others) = matrices(text, vision)
        return (layers + others).allSatisfy { if case .saved = $0.quantizedForm?.bytes { true } else { false } }
    }

    static func load(_ folder: URL, _ weights: Qwen3VL.WeightFormat = .int8) throws -> (Qwen3VL.TextModel, Qwen3VL.VisionTower, logits: [Float]) {
        let checkpoint = try Qwen3VL.ModelFolder(contentsOf: folder)
        let text = try Qwen3VL.TextModel(folder: checkpoint, precision: .f32, weights: weights)
        let vision = try Qwen3VL.VisionTower(folder: checkpoint, precision: .f32, weights: weights)
        return (text, vision, TextModelGoldenTests.lastLogits(text, [9707, 11, 1879, 0, 576, 374, 264, 1273]))
    }

    /// Each format's own text file; the vision tower is int8 for both and shares one file. int4 keeps
    /// the output matrix in int8.
    @Test(arguments: [Qwen3VL.WeightFormat.int8, .int4])
    func laterLoadsMapTheSavedFileAndComputeTheSame(weights: Qwen3VL.WeightFormat) throws {
        let folder = try Self.copyOfCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try Self.load(folder, weights)
        #expect(!Self.mapped(first.0, first.1), "the first load quantizes")
        let (layers, others) = Self.matrices(first.0, first.1)
        #expect(layers.allSatisfy { $0.quantizedForm?.quantization == (weights == .int4 ? .int4 : .int8) })
        #expect(others.allSatisfy { $0.quantizedForm?.quantization == .int8 })
        for file in ["qwen-agent-\(weights)-text.bin", "qwen-agent-int8-vision.bin"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("qwen-agent-int4-vision.bin").path))
        let second = try Self.load(folder, weights)
        #expect(Self.mapped(second.0, second.1), "the second load maps the saved \(weights) weights")
        #expect(second.logits == first.logits)
    }

    @Test func aDamagedOrStaleFileIsMadeAgain() throws {
        let folder = try Self.copyOfCheckpoint()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try Self.load(folder).logits
        let saved = folder.appendingPathComponent("qwen-agent-int8-text.bin")

        // Damaged: the header cut short.
        let bytes = try Data(contentsOf: saved)
        try bytes.prefix(40).write(to: saved)
        let afterDamage = try Self.load(folder)
        #expect(!Self.mapped(afterDamage.0, afterDamage.1) && afterDamage.logits == reference)
        #expect(try Data(contentsOf: saved).count == bytes.count, "the damaged file was written again")

        // Stale: the checkpoint changed after the file was made.
        let weights = folder.appendingPathComponent("model.safetensors")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: weights.path)
        let afterChange = try Self.load(folder)
        #expect(!Self.mapped(afterChange.0, afterChange.1) && afterChange.logits == reference)
        let remade = try Self.load(folder)
        #expect(Self.mapped(remade.0, remade.1) && remade.logits == reference)
    }
}
