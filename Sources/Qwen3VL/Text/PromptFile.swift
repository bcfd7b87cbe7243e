public import Foundation
public import Qwen3VLPrompt

extension Qwen3VL {
    /// A prompt prefix's keys and values on disk, so that a later process starts where an earlier one
    /// left off instead of computing them again (an agent's system prompt and tools: about 1,100
    /// tokens, seconds of prefill on a CPU, the same for every task).
    ///
    /// The file holds a header line (`magic`), a JSON line (``Header``: the stamp, the cache's shape
    /// and the tokens), then for each layer and KV head the keys of every position, then the values,
    /// as the cache stores them (float32 or BF16). A file is used only when its stamp, shape and tokens
    /// are exactly the caller's: the values are then the ones the model would compute.
    public enum PromptFile {
        static let magic = Data("qwen3vl-prompt-kv 1\n".utf8)

        struct Header: Codable, Equatable {
            /// What the values were computed by: the caller's words for the weights and the engine build.
            var stamp: String
            var precision: String
            var layers: Int
            var kvHeads: Int
            var headDim: Int
            var tokens: [Int32]
        }

        /// The file name for `tokens` under `stamp` (FNV-1a of both; the header, not the name, decides a match).
        public static func name(stamp: String, tokens: some Collection<Int32>) -> String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            stamp.utf8.forEach(mix)
            for token in tokens { withUnsafeBytes(of: token.littleEndian) { $0.forEach(mix) } }
            return String(hash, radix: 16) + ".kv"
        }
    }
}

extension Qwen3VL.PromptCache {
    /// Writes the first `count` cached positions (text tokens, no image pads) to `url`, through a
    /// temporary file renamed into place so a reader never sees half a file. Not synced to disk: a
    /// file a crash leaves short fails ``load(from:stamp:tokens:)``'s checks and is made again.
    public func save(first count: Int, to url: URL, stamp: String) throws {
        precondition(count <= cache.count && count <= entries.count, "only cached positions can be saved")
        precondition(entries[..<count].allSatisfy { $0.image == nil }, "a saved prefix holds text only")
        let header = header(stamp: stamp, tokens: entries[..<count].map(\.token))
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid())")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        do {
            let file = try FileHandle(forWritingTo: temporary)
            defer { try? file.close() }
            try file.write(contentsOf: Qwen3VL.PromptFile.magic + JSONEncoder().encode(header) + Data("\n".utf8))
            try forEachRun(count: count) { try file.write(contentsOf: UnsafeRawBufferPointer($0)) }
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Replaces what the cache holds with the prefix saved in `url` when the file was saved under
    /// `stamp` for this model's shape and precision and holds `tokens`; returns the positions loaded (0:
    /// the file does not match, or is not a prompt file).
    public func load(from url: URL, stamp: String, tokens: some Collection<Int32>) throws -> Int {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        let magic = Qwen3VL.PromptFile.magic
        guard data.starts(with: magic), let newline = data[magic.count...].firstIndex(of: UInt8(ascii: "\n")) else { return 0 }
        let wanted = header(stamp: stamp, tokens: Array(tokens))
        guard (try? JSONDecoder().decode(Qwen3VL.PromptFile.Header.self, from: data[magic.count..<newline])) == wanted else { return 0 }
        let count = wanted.tokens.count
        guard data.count - (newline + 1) == cache.byteCount(tokens: count) else { return 0 }
        prepare(for: wanted.tokens, imageGrids: [], imageKeys: nil)
        var offset = newline + 1
        data.withUnsafeBytes { bytes in
            forEachRun(count: count) { run in
                run.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + run.count]))
                offset += run.count
            }
        }
        cache.count = count
        return count
    }

    /// What a file of `tokens` saved under `stamp` from this cache says of itself.
    private func header(stamp: String, tokens: [Int32]) -> Qwen3VL.PromptFile.Header {
        let config = model.config
        return Qwen3VL.PromptFile.Header(stamp: stamp, precision: cache.precision.rawValue, layers: config.numHiddenLayers,
                                         kvHeads: config.numKeyValueHeads, headDim: config.headDim, tokens: tokens)
    }

    /// Each stretch of `count` positions in the order a prompt file stores them: per layer and KV head,
    /// the keys, then the values.
    private func forEachRun(count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let config = model.config
        let elements = count * config.headDim
        for layer in 0..<config.numHiddenLayers {
            for head in 0..<config.numKeyValueHeads {
                let at = cache.offset(layer: layer, head: head)
                switch cache.precision {
                case .f32:
                    try body(UnsafeMutableRawBufferPointer(start: cache.keys.base + at, count: elements * 4))
                    try body(UnsafeMutableRawBufferPointer(start: cache.values.base + at, count: elements * 4))
                case .bf16:
                    try body(UnsafeMutableRawBufferPointer(start: cache.keys16.base + at, count: elements * 2))
                    try body(UnsafeMutableRawBufferPointer(start: cache.values16.base + at, count: elements * 2))
                }
            }
        }
    }
}
