/// GPT-2's `bytes_to_unicode`: every byte gets a printable character so BPE vocabularies can be stored as
/// JSON text. Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 + n in order.
/// Vocabulary and merge files are written in these characters; the tokenizer converts them back to bytes
/// once, at load time, and works on raw UTF-8 bytes afterwards.
enum ByteLevel {
    /// The character standing for each byte.
    static let characterForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var extra: UInt32 = 0
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(0x100 + extra)!
                extra += 1
            }
        }
        return table
    }()

    /// The inverse of `characterForByte`, indexed by scalar value (all of them are below U+0144).
    private static let byteForCharacter: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in characterForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// The bytes a byte-level token string stands for, or nil if it contains a character outside the table.
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForCharacter.count, byteForCharacter[value] >= 0 else { return nil }
            bytes.append(UInt8(byteForCharacter[value]))
        }
        return bytes
    }
}
