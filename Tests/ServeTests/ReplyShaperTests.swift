@testable import Serve
import Foundation
import TestSupport
import TestSupportCore
import Testing

@Suite("The reply shaper: reasoning and answer apart, stop strings, split markers")
struct ReplyShaperTests {
    /// Feeds `text` in pieces at `cuts` and joins what comes out.
    func shape(_ text: String, thinking: Bool, stops: [String] = [], pieces: Int, seed: UInt64) -> (ReplyShaper.Piece, stopped: Bool) {
        var generator = SeededGenerator(seed: seed)
        var shaper = ReplyShaper(thinking: thinking, stops: stops)
        var out = ReplyShaper.Piece()
        var rest = Substring(text)
        while !rest.isEmpty {
            let length = Int.random(in: 1...max(1, text.count / pieces), using: &generator)
            let piece = shaper.feed(String(rest.prefix(length)))
            rest = rest.dropFirst(length)
            out.reasoning += piece.reasoning
            out.content += piece.content
        }
        let last = shaper.finish()
        out.reasoning += last.reasoning
        out.content += last.content
        return (out, shaper.stopped)
    }

    @Test(arguments: 0..<40) func aThinkingReplySplitsAtThinkEndWhereverThePiecesBreak(seed: UInt64) {
        let reply = "The avatar is top right.\n</think>\n\nAction: click it.\n<tool_call>{}</tool_call>"
        let (out, stopped) = shape(reply, thinking: true, pieces: 12, seed: seed)
        #expect(out.reasoning == "The avatar is top right.\n" && out.content == "Action: click it.\n<tool_call>{}</tool_call>" && !stopped)
    }

    @Test func anInstructReplyIsAllAnswerAndAnUnclosedReasoningAllReasoning() {
        #expect(shape("</think> is just text", thinking: false, pieces: 3, seed: 1).0 == .init(reasoning: "", content: "</think> is just text"))
        #expect(shape("still thinking </thi", thinking: true, pieces: 3, seed: 1).0 == .init(reasoning: "still thinking </thi", content: ""))
    }

    @Test(arguments: 0..<40) func theAnswerEndsBeforeTheFirstStopString(seed: UInt64) {
        let (out, stopped) = shape("reason</think>\n\nalpha beta STOP gamma END", thinking: true, stops: ["END", "STOP"], pieces: 10, seed: seed)
        #expect(out.content == "alpha beta " && out.reasoning == "reason" && stopped)
    }
}

@Suite("The web page's files")
struct WebAssetTests {
    /// The binary carries Sources/Serve/Web as it is in the repository.
    @Test func theEmbeddedPageIsTheRepositorysPage() throws {
        let folder = Repository.root.appendingPathComponent("Sources/Serve/Web")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(WebAssets.all.count == files.count, "run scripts/embed-resources")
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let asset = WebAssets.all.first { $0.path == (file == "index.html" ? "/" : "/\(file)") }
            #expect(asset.map { $0.text + "\n" } == text, "\(file) differs from the embedded copy: run scripts/embed-resources")
        }
    }
}
