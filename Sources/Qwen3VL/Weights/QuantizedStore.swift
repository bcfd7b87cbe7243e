public import Foundation
import Glibc
public import Qwen3VLPrompt
internal import CKernels

extension Qwen3VL {
    /// The quantized matrices of one part of a model (the decoder or the vision tower) in one weight
    /// format, saved next to the checkpoint the first time that format is made from it, so that later
    /// loads map them: nothing is quantized again and no page of the BF16 matrices is touched. The file
    /// records the checkpoint files it was made from (names, sizes, modification times) and the format;
    /// a file that does not match them, or does not parse, is made again. Where the folder cannot be
    /// written, every load quantizes.
    final class QuantizedStore {
        /// A saved file's header (JSON after the magic and its length): where it came from and where
        /// each matrix lies, at byte offsets from the start of the data (the header's end rounded up to 64).
        struct Header: Codable {
            struct Source: Codable, Equatable {
                let name: String
                let size: Int
                let modified: Double
            }

            struct Matrix: Codable {
                let rows, columns, quants, scales: Int
                let quantization: Weight.Quantization
            }

            let format: String
            let sources: [Source]
            let matrices: [String: Matrix]
        }

        static let magic = Array("QAINT8\n\0".utf8)
        /// Changes whenever the kernels' int8 or int4 layout does.
        static let format = "Q8 and Q4 blocks of 32 with F16 scales, rows padded to \(ckernels_q8_padded_columns(1)) weights, version 2"

        let url: URL
        private let sources: [Header.Source]
        private var saved: (file: MappedFile, matrices: [String: Header.Matrix], dataStart: Int)?
        /// Every matrix handed out, in order, for writing the file.
        private var matrices: [(name: String, weight: Weight)] = []
        /// Whether any matrix had to be quantized at this load (the file is then written).
        private(set) var quantizedAny = false

        /// The store of `part` ("text", "vision") of the checkpoint in `folder` in the format `weights`.
        private init(folder: URL, part: String, weights: WeightFormat) {
            url = folder.appendingPathComponent("qwen-agent-\(weights.rawValue)-\(part).bin")
            sources = Self.sources(in: folder)
            saved = Self.open(url, sources: sources)
        }

        /// The decoder's store for `weights`; nil for `bf16`, whose matrices stay as stored.
        static func text(folder: URL, weights: WeightFormat) -> QuantizedStore? {
            weights.layers == nil ? nil : QuantizedStore(folder: folder, part: "text", weights: weights)
        }

        /// The vision tower's store for `weights` (int8's for `int4` too); nil for `bf16`.
        static func vision(folder: URL, weights: WeightFormat) -> QuantizedStore? {
            weights.others == nil ? nil : QuantizedStore(folder: folder, part: "vision", weights: weights.vision)
        }

        /// Whether a file made from this checkpoint in this format is there to map.
        var isSaved: Bool { saved != nil }

        /// The matrix `name` (whose BF16 or float32 form is `weight`) in `quantization`: mapped from the
        /// saved file when it holds it so, with that shape, else quantized now.
        func quantized(_ name: String, _ weight: Weight, _ quantization: Weight.Quantization) -> Weight {
            let result: Weight
            if let saved, let m = saved.matrices[name], m.rows == weight.rows, m.columns == weight.columns,
               m.quantization == quantization {
                let bytes = Weight.Quantized.Bytes.saved(saved.file, quants: saved.dataStart + m.quants, scales: saved.dataStart + m.scales)
                result = Weight(Weight.Quantized(quantization: quantization, bytes: bytes), rows: m.rows, columns: m.columns)
            } else {
                result = weight.quantized(quantization)
                guard result.quantizedForm != nil else { return result } // an F16 matrix stays as it is
                quantizedAny = true
            }
            matrices.append((name, result))
            return result
        }

        /// Writes the file (to a temporary name, then renamed over the old one, whose mappings stay
        /// valid) when this load quantized anything. False when it cannot be written.
        @discardableResult
        func save() -> Bool {
            guard quantizedAny else { return true }
            var entries: [String: Header.Matrix] = [:], offset = 0
            for (name, weight) in matrices {
                guard let quantization = weight.quantizedForm?.quantization else { return false }
                let quants = offset, scales = Self.aligned(quants + Self.quantBytes(weight.rows, weight.columns, quantization))
                entries[name] = Header.Matrix(rows: weight.rows, columns: weight.columns, quants: quants, scales: scales,
                                              quantization: quantization)
                offset = Self.aligned(scales + Self.scaleBytes(weight.rows, weight.columns, quantization))
            }
            guard let header = try? JSONEncoder().encode(Header(format: Self.format, sources: sources, matrices: entries)) else { return false }
            // A name of its own per writer: loads running at once each rename a complete file into place.
            let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
            guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
                  let handle = try? FileHandle(forWritingTo: temporary) else { return false }
            defer { try? handle.close() }
            do {
                var length = UInt64(header.count).littleEndian
                try handle.write(contentsOf: Self.magic + withUnsafeBytes(of: &length) { Array($0) })
                try handle.write(contentsOf: header)
                let start = Self.aligned(Self.magic.count + 8 + header.count)
                try handle.write(contentsOf: Data(count: start - Self.magic.count - 8 - header.count))
                var written = 0
                for (name, weight) in matrices {
                    guard let entry = entries[name], let q = weight.quantizedForm else { throw CocoaError(.fileWriteUnknown) }
                    let quantBytes = Self.quantBytes(entry.rows, entry.columns, q.quantization)
                    let scaleBytes = Self.scaleBytes(entry.rows, entry.columns, q.quantization)
                    try q.withBytes { quants, scales in
                        try handle.write(contentsOf: Data(count: entry.quants - written))
                        try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: quants), count: quantBytes, deallocator: .none))
                        try handle.write(contentsOf: Data(count: entry.scales - entry.quants - quantBytes))
                        try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: scales), count: scaleBytes, deallocator: .none))
                    }
                    written = entry.scales + scaleBytes
                }
                try handle.synchronize()
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                return false
            }
            guard rename(temporary.path, url.path) == 0 else {
                try? FileManager.default.removeItem(at: temporary)
                return false
            }
            return true
        }

        private static func aligned(_ offset: Int) -> Int { (offset + 63) / 64 * 64 }
        private static func quantBytes(_ rows: Int, _ columns: Int, _ quantization: Weight.Quantization) -> Int {
            rows * quantization.rowBytes(columns: columns)
        }
        private static func scaleBytes(_ rows: Int, _ columns: Int, _ quantization: Weight.Quantization) -> Int {
            quantization.scaleCount(rows: rows, columns: columns) * 2
        }

        /// The checkpoint's safetensors files, by name.
        private static func sources(in folder: URL) -> [Header.Source] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.filter { $0.hasSuffix(".safetensors") }.sorted().compactMap { name in
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path),
                      let size = attributes[.size] as? NSNumber, let modified = attributes[.modificationDate] as? Date else { return nil }
                return Header.Source(name: name, size: size.intValue, modified: modified.timeIntervalSince1970)
            }
        }

        /// The saved file at `url` if it was made from `sources` in this format and every matrix lies
        /// inside it; nil otherwise (no file, another checkpoint, an older format, a damaged file).
        private static func open(_ url: URL, sources: [Header.Source]) -> (file: MappedFile, matrices: [String: Header.Matrix], dataStart: Int)? {
            guard FileManager.default.fileExists(atPath: url.path), let file = try? MappedFile(path: url.path) else { return nil }
            let bytes = file.bytes, prefix = magic.count + 8
            guard bytes.count >= prefix, Array(bytes[0..<magic.count]) == magic else { return nil }
            let length = Int(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: magic.count, as: UInt64.self)))
            guard length > 0, length <= bytes.count - prefix,
                  let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[prefix..<prefix + length])),
                  header.format == format, header.sources == sources else { return nil }
            let start = aligned(prefix + length)
            for m in header.matrices.values {
                guard m.rows > 0, m.columns > 0, m.quants >= 0, m.quants % 64 == 0, m.scales % 64 == 0,
                      start + m.quants + quantBytes(m.rows, m.columns, m.quantization) <= bytes.count,
                      start + m.scales + scaleBytes(m.rows, m.columns, m.quantization) <= bytes.count
                else { return nil }
            }
            return (file, header.matrices, start)
        }
    }
}

extension Qwen3VL.WeightFormat {
    /// The files a load of the checkpoint in `folder` in this format has to make, because they are
    /// missing or were made from other files or in an older layout: such a load quantizes every matrix
    /// before the model is ready, then saves them there. Empty for `bf16`, and once they are saved.
    /// `withVision`: whether the load includes the vision tower.
    public func filesToMake(in folder: URL, withVision: Bool = true) -> [URL] {
        [Qwen3VL.QuantizedStore.text(folder: folder, weights: self), withVision ? Qwen3VL.QuantizedStore.vision(folder: folder, weights: self) : nil]
            .compactMap { store in store.flatMap { $0.isSaved ? nil : $0.url } }
    }
}
