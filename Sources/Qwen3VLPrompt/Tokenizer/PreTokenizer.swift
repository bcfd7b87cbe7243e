/// Qwen2's pre-tokenisation, written by hand as a scanner over Unicode scalars. It splits text into the
/// same pieces as the regular expression
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// with leftmost-first alternation, but without a regex engine on the hot path. Each alternative is one
/// numbered step in `pieceEnd(at:)`; `\s` is the Unicode White_Space property, `\p{L}`/`\p{N}` the general
/// categories. Note that `\p{N}` takes one scalar: numbers are split digit by digit.
struct PreTokenizer {
    /// What the regex needs to know about a scalar.
    enum Kind {
        case letter, number, newline, space, other

        var isWhitespace: Bool { self == .newline || self == .space }
    }

    private var scalars: [UInt32] = []
    private var kinds: [Kind] = []
    /// The UTF-8 offset of each scalar, plus one final entry for the end of the text.
    private var offsets: [Int] = []

    /// Calls `body` with the byte range of each piece of `utf8`, which must be valid UTF-8, in order.
    mutating func forEachPiece(of utf8: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        decode(utf8)
        var start = 0
        while start < kinds.count {
            let end = pieceEnd(at: start)
            body(offsets[start]..<offsets[end])
            start = end
        }
    }

    /// Fills `scalars`, `kinds` and `offsets` from UTF-8 that is known to be valid.
    private mutating func decode(_ utf8: UnsafeBufferPointer<UInt8>) {
        scalars.removeAll(keepingCapacity: true)
        kinds.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        var index = 0
        while index < utf8.count {
            let lead = UInt32(utf8[index])
            var value: UInt32
            let length: Int
            switch lead {
            case 0..<0x80: value = lead; length = 1
            case 0xC0..<0xE0: value = lead & 0x1F; length = 2
            case 0xE0..<0xF0: value = lead & 0x0F; length = 3
            default: value = lead & 0x07; length = 4
            }
            for k in 1..<length { value = value << 6 | UInt32(utf8[index + k] & 0x3F) }
            scalars.append(value)
            kinds.append(Self.kind(of: value))
            offsets.append(index)
            index += length
        }
        offsets.append(index)
    }

    private static let asciiKinds: [Kind] = (0..<128).map { classify(UInt32($0)) }

    static func kind(of value: UInt32) -> Kind {
        value < 128 ? asciiKinds[Int(value)] : classify(value)
    }

    private static func classify(_ value: UInt32) -> Kind {
        if value == 0x0A || value == 0x0D { return .newline }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The scalar index where the piece starting at `start` ends.
    private func pieceEnd(at start: Int) -> Int {
        let count = kinds.count
        let kind = kinds[start]
        // 1. `(?i:'s|'t|'re|'ve|'m|'ll|'d)`
        if scalars[start] == 0x27, let length = contractionLength(after: start) { return start + 1 + length }
        // 2. `[^\r\n\p{L}\p{N}]?\p{L}+`
        if kind == .letter { return letterRunEnd(from: start) }
        if kind != .newline, kind != .number, start + 1 < count, kinds[start + 1] == .letter {
            return letterRunEnd(from: start + 1)
        }
        // 3. `\p{N}`
        if kind == .number { return start + 1 }
        // 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var end = start
        if scalars[start] == 0x20, start + 1 < count, kinds[start + 1] == .other { end += 1 }
        if kinds[end] == .other {
            while end < count, kinds[end] == .other { end += 1 }
            while end < count, kinds[end] == .newline { end += 1 }
            return end
        }
        // Only whitespace is left: find the run it starts.
        end = start
        while end < count, kinds[end].isWhitespace { end += 1 }
        // 5. `\s*[\r\n]+`: up to and including the run's last line break.
        if let lastBreak = (start..<end).last(where: { kinds[$0] == .newline }) { return lastBreak + 1 }
        // 6. `\s+(?!\S)`: the whole run at the end of the text, else all but its last scalar,
        // which then prefixes the next word or punctuation.
        if end == count { return end }
        if end - 1 > start { return end - 1 }
        // 7. `\s+`
        return end
    }

    private func letterRunEnd(from start: Int) -> Int {
        var end = start
        while end < kinds.count, kinds[end] == .letter { end += 1 }
        return end
    }

    /// The length of `s|t|re|ve|m|ll|d` (any case) at `apostrophe + 1`, if one is there.
    private func contractionLength(after apostrophe: Int) -> Int? {
        func lowered(_ index: Int) -> UInt32? {
            guard index < scalars.count else { return nil }
            let value = scalars[index]
            if value == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S case-folds to "s".
            return value < 0x80 ? value | 0x20 : value
        }
        guard let first = lowered(apostrophe + 1) else { return nil }
        switch first {
        case 0x73, 0x74, 0x6D, 0x64: return 1  // 's, 't, 'm, 'd
        case 0x72, 0x76: return lowered(apostrophe + 2) == 0x65 ? 2 : nil  // 're, 've
        case 0x6C: return lowered(apostrophe + 2) == 0x6C ? 2 : nil  // 'll
        default: return nil
        }
    }
}
