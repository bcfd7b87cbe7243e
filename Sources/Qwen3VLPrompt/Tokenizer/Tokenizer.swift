import Synchronization
import Foundation

extension Qwen3VL {
    /// Qwen2/Qwen3 byte-level BPE: NFC, added tokens matched whole, the Qwen2 pre-tokenisation split,
    /// GPT-2 byte mapping and rank-ordered merges (`qwen3vl-spec.md` §8). No BOS is added.
    ///
    /// Load it with `Tokenizer.load(folder:)`. It is immutable apart from a cache and safe to share.
    public final class Tokenizer: Sendable {
        /// A token matched verbatim before pre-tokenisation (`<|im_start|>`, `<think>`, ...).
        struct AddedToken: Sendable {
            var id: Int32
            var content: String
            /// Special tokens are the ones `skipSpecialTokens` drops when decoding.
            var special: Bool
        }

        private let bpe: BytePairEncoding
        /// The bytes of every token, indexed by id; empty for ids that name no token.
        private let tokenBytes: [[UInt8]]
        private let specialIDs: Set<Int32>
        /// Added tokens, longest first, so that a token that is a prefix of another cannot win.
        private let addedTokens: [(bytes: [UInt8], id: Int32)]
        /// Whether any added token starts with this byte: the fast "no added token here" check.
        private let addedTokenStarts: [Bool]
        private let addedTokenIDs: [String: Int32]
        /// Tokens of pre-tokens already seen. Text repeats words, so this skips most BPE work.
        private let cache = Mutex<[[UInt8]: [Int32]]>([:])
        private static let cacheLimit = 100_000

        /// The number of token ids, including added tokens (151669 for Qwen3).
        public var count: Int { tokenBytes.count }

        /// Builds a tokenizer from byte-level token strings.
        ///
        /// - Parameter source: the file(s) the data came from, for error messages.
        init(vocabulary: [String: Int32], merges: [(Substring, Substring)], addedTokens: [AddedToken], source: String) throws {
            var size = 0
            for id in vocabulary.values {
                guard id >= 0 else { throw TokenizerError(.invalidFile, "\(source): negative token id \(id)") }
                size = max(size, Int(id) + 1)
            }
            for token in addedTokens { size = max(size, Int(token.id) + 1) }
            var tokenBytes = [[UInt8]](repeating: [], count: size)
            for (token, id) in vocabulary {
                guard let bytes = ByteLevel.bytes(of: token) else {
                    throw TokenizerError(.invalidFile, "\(source): token \(id) is not byte-level text: \(token.debugDescription)")
                }
                tokenBytes[Int(id)] = bytes
            }
            let byteTokens = try ByteLevel.characterForByte.enumerated().map { byte, character in
                guard let id = vocabulary[String(character)] else {
                    throw TokenizerError(.invalidFile, "\(source): no token for byte 0x\(String(byte, radix: 16))")
                }
                return id
            }
            var mergeTable: [UInt64: BytePairEncoding.Merge] = [:]
            mergeTable.reserveCapacity(merges.count)
            for (rank, (left, right)) in merges.enumerated() {
                guard let leftID = vocabulary[String(left)], let rightID = vocabulary[String(right)],
                    let result = vocabulary[String(left) + String(right)]
                else {
                    throw TokenizerError(.invalidFile, "\(source): merge \(rank) \"\(left) \(right)\" uses a token that is not in the vocabulary")
                }
                // A repeated pair keeps its first (lowest) rank, as HF does.
                let key = BytePairEncoding.key(leftID, rightID)
                if mergeTable[key] == nil { mergeTable[key] = .init(rank: Int32(rank), result: result) }
            }
            for token in addedTokens { tokenBytes[Int(token.id)] = Array(token.content.utf8) }

            self.bpe = BytePairEncoding(merges: mergeTable, byteTokens: byteTokens)
            self.tokenBytes = tokenBytes
            self.specialIDs = Set(addedTokens.filter(\.special).map(\.id))
            let nonEmpty = addedTokens.filter { !$0.content.isEmpty }
            self.addedTokens = nonEmpty.map { (Array($0.content.utf8), $0.id) }.sorted { $0.bytes.count > $1.bytes.count }
            var starts = [Bool](repeating: false, count: 256)
            for token in nonEmpty { starts[Int(token.content.utf8.first!)] = true }
            self.addedTokenStarts = starts
            self.addedTokenIDs = Dictionary(addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { first, _ in first })
        }

        /// The id of an added token such as `"<|im_end|>"`, or nil if there is none by that name.
        public func addedTokenID(_ content: String) -> Int32? { addedTokenIDs[content] }

        /// Whether `id` is a special token, the kind `skipSpecialTokens` drops.
        public func isSpecial(_ id: Int32) -> Bool { specialIDs.contains(id) }

        // MARK: Encoding

        /// The token ids of `text`.
        ///
        /// Added tokens are found first, in the raw text; each stretch between them is NFC-normalised,
        /// split into pre-tokens and BPE-encoded.
        public func encode(_ text: String) -> [Int32] {
            var ids: [Int32] = []
            ids.reserveCapacity(text.utf8.count / 3)
            var preTokenizer = PreTokenizer()
            let utf8 = Array(text.utf8)
            utf8.withUnsafeBufferPointer { bytes in
                var segmentStart = 0
                var index = 0
                while index < bytes.count {
                    if addedTokenStarts[Int(bytes[index])], let token = addedToken(at: index, in: bytes) {
                        encodeOrdinary(UnsafeBufferPointer(rebasing: bytes[segmentStart..<index]), &preTokenizer, into: &ids)
                        ids.append(token.id)
                        index += token.bytes.count
                        segmentStart = index
                    } else {
                        index += 1
                    }
                }
                encodeOrdinary(UnsafeBufferPointer(rebasing: bytes[segmentStart...]), &preTokenizer, into: &ids)
            }
            return ids
        }

        private func addedToken(at index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (bytes: [UInt8], id: Int32)? {
            addedTokens.first { token in
                index + token.bytes.count <= bytes.count
                    && token.bytes.elementsEqual(bytes[index..<(index + token.bytes.count)])
            }
        }

        /// Encodes text that contains no added token.
        private func encodeOrdinary(_ segment: UnsafeBufferPointer<UInt8>, _ preTokenizer: inout PreTokenizer, into ids: inout [Int32]) {
            guard !segment.isEmpty else { return }
            // Scalars below U+0300 (lead bytes below 0xCC) never change under NFC; most text skips Foundation.
            if segment.contains(where: { $0 >= 0xCC }) {
                let normalized = Array(String(decoding: segment, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
                normalized.withUnsafeBufferPointer { encodePieces($0, &preTokenizer, into: &ids) }
            } else {
                encodePieces(segment, &preTokenizer, into: &ids)
            }
        }

        private func encodePieces(_ text: UnsafeBufferPointer<UInt8>, _ preTokenizer: inout PreTokenizer, into ids: inout [Int32]) {
            preTokenizer.forEachPiece(of: text) { range in
                let piece = UnsafeBufferPointer(rebasing: text[range])
                if piece.count == 1 {
                    ids.append(bpe.byteTokens[Int(piece[0])])
                    return
                }
                let key = Array(piece)
                if let cached = cache.withLock({ $0[key] }) {
                    ids.append(contentsOf: cached)
                    return
                }
                var pieceIDs: [Int32] = []
                bpe.encode(piece, into: &pieceIDs)
                ids.append(contentsOf: pieceIDs)
                cache.withLock { cache in
                    if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                    cache[key] = pieceIDs
                }
            }
        }

        // MARK: Decoding

        /// The text of `ids`. Byte sequences that are not valid UTF-8 become U+FFFD, as in HF's
        /// `errors="replace"`; ids that name no token contribute nothing.
        public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
            var bytes: [UInt8] = []
            for id in ids { appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &bytes) }
            return String(decoding: bytes, as: UTF8.self)
        }

        func appendBytes(of id: Int32, skipSpecialTokens: Bool, to bytes: inout [UInt8]) {
            guard id >= 0, Int(id) < tokenBytes.count else { return }
            if skipSpecialTokens, specialIDs.contains(id) { return }
            bytes.append(contentsOf: tokenBytes[Int(id)])
        }
    }
}
