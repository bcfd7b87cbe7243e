import Foundation
import Synchronization

/// Replaces secrets (`--secret`: passwords the agent may type) with "••••••" in the string values of
/// an encoded JSON record, leaving keys and structure alone, so no secret reaches a session file.
struct SecretMask: Sendable {
    static let replacement = "••••••"
    private let secrets: [String]

    init(_ secrets: [String]) {
        // Longest first, so a secret that contains another is masked whole.
        self.secrets = secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    func apply(to text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: Self.replacement) }
    }

    /// `json` with every string value that holds a secret re-encoded with the secret masked.
    func apply(to json: Data) -> Data {
        guard !secrets.isEmpty else { return json }
        let bytes = [UInt8](json)
        var output = Data(capacity: bytes.count)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else {
                output.append(bytes[index])
                index += 1
                continue
            }
            var end = index + 1
            while end < bytes.count && bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
            end = min(end + 1, bytes.count)
            let token = Data(bytes[index..<end])
            var next = end
            while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
            let isKey = next < bytes.count && bytes[next] == UInt8(ascii: ":")
            if !isKey, let value = try? JSONDecoder().decode(String.self, from: token), apply(to: value) != value,
               let masked = try? Self.encoder.encode(apply(to: value)) {
                output.append(masked)
            } else {
                output.append(token)
            }
            index = end
        }
        return output
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }
}

/// Masks secrets in text that arrives in pieces (a model's streamed reply): a secret split across
/// two pieces is still caught, because the last few characters wait for the next piece.
public final class StreamingSecretMask: Sendable {
    private let mask: SecretMask
    private let held: Mutex<String> = Mutex("")
    /// Characters kept back: one less than the longest secret.
    private let keep: Int

    public init(_ secrets: [String]) {
        mask = SecretMask(secrets)
        keep = max(0, (secrets.map(\.count).max() ?? 0) - 1)
    }

    /// Masks `text` that is whole (a line about an action).
    public func masked(_ text: String) -> String { mask.apply(to: text) }

    /// Takes the next piece; returns what can be shown now.
    public func feed(_ piece: String) -> String {
        held.withLock { held in
            held = mask.apply(to: held + piece)
            let ready = held.dropLast(keep)
            held = String(held.suffix(keep))
            return String(ready)
        }
    }

    /// Everything still held back (the reply ended, or another line is about to be shown).
    public func flush() -> String {
        held.withLock { held in
            defer { held = "" }
            return mask.apply(to: held)
        }
    }
}
