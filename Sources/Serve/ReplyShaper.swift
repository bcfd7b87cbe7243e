import Foundation

/// Turns a model's raw text, as it streams, into what an OpenAI client reads: the reasoning (before
/// `</think>`, for a Thinking model) and the answer separately, cut at the first stop string.
///
/// Text that could be the start of `</think>` or of a stop string is held back until the next piece
/// shows what it is, so a split marker is never sent half.
struct ReplyShaper {
    struct Piece: Equatable {
        var reasoning = ""
        var content = ""
        var isEmpty: Bool { reasoning.isEmpty && content.isEmpty }
    }

    static let thinkEnd = "</think>"

    private let stops: [String]
    private var inReasoning: Bool
    /// After `</think>`: the answer's leading blank lines belong to the template, not the answer.
    private var trimmingAnswerStart = false
    private var held = ""
    /// A stop string was found; everything after it is dropped.
    private(set) var stopped = false

    init(thinking: Bool, stops: [String]) {
        inReasoning = thinking
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// The text `piece` lets go of; `stopped` is set once a stop string has been reached.
    mutating func feed(_ piece: String) -> Piece {
        guard !stopped else { return Piece() }
        held += piece
        return release(final: false)
    }

    /// Whatever is still held at the end of the reply.
    mutating func finish() -> Piece {
        guard !stopped else { return Piece() }
        return release(final: true)
    }

    private mutating func release(final: Bool) -> Piece {
        var out = Piece()
        while true {
            if inReasoning {
                if let end = held.range(of: Self.thinkEnd) {
                    out.reasoning += held[..<end.lowerBound]
                    held = String(held[end.upperBound...])
                    inReasoning = false
                    trimmingAnswerStart = true
                    continue
                }
                let keep = final ? 0 : Self.heldBack(held, markers: [Self.thinkEnd])
                out.reasoning += held.dropLast(keep)
                held = String(held.suffix(keep))
                return out
            }
            if trimmingAnswerStart {
                let trimmed = held.drop { $0.isNewline || $0 == " " }
                if trimmed.isEmpty && !final { held = ""; return out }
                held = String(trimmed)
                trimmingAnswerStart = false
            }
            if let stop = stops.compactMap({ held.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                out.content += held[..<stop.lowerBound]
                held = ""
                stopped = true
                return out
            }
            let keep = final ? 0 : Self.heldBack(held, markers: stops)
            out.content += held.dropLast(keep)
            held = String(held.suffix(keep))
            return out
        }
    }

    /// How many characters at the end of `text` could begin one of `markers`.
    private static func heldBack(_ text: String, markers: [String]) -> Int {
        var longest = 0
        for marker in markers {
            for length in stride(from: min(marker.count - 1, text.count), to: longest, by: -1)
            where text.hasSuffix(marker.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }
}
