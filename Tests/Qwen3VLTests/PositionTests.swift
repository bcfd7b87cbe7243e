import Foundation
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

@Suite("Multimodal position ids (get_rope_index)")
struct PositionTests {
    @Test func theSpecWorkedExample() {
        // <|im_start|> user \n <|vision_start|> 6 pads (merged grid 2x3) <|vision_end|> Hi <|im_end|> \n <|im_start|> assistant \n
        let pad: Int32 = 151_655 // <|image_pad|>
        let tokens: [Int32] = [151644, 872, 198, 151652] + Array(repeating: pad, count: 6) + [151653, 13048, 151645, 198, 151644, 77091, 198]
        let (positions, delta) = Qwen3VL.positionIDs(for: tokens, imageGrids: [Qwen3VL.Grid(t: 1, h: 4, w: 6, mergeSize: 2)], imagePad: pad)
        #expect(positions[0..<4].map { $0 } == [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]])
        #expect(Array(positions[4..<10]) == [[4, 4, 4], [4, 4, 5], [4, 4, 6], [4, 5, 4], [4, 5, 5], [4, 5, 6]])
        #expect(positions[10] == [7, 7, 7] && positions.last == [13, 13, 13])
        #expect(delta == -3)
    }

    @Test func matchesTransformersForTheMultimodalGolden() throws {
        let url = Repository.fixtures.appendingPathComponent("Golden/multimodal/multimodal-golden.json")
        let golden = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let ids = (golden["input_ids"] as? [Int] ?? []).map(Int32.init)
        let grid = golden["grid_thw"] as? [Int] ?? []
        let (positions, delta) = Qwen3VL.positionIDs(for: ids, imageGrids: [Qwen3VL.Grid(t: grid[0], h: grid[1], w: grid[2], mergeSize: 2)],
                                                          imagePad: 151_655)
        let streams = golden["position_ids"] as? [[Int]] ?? []
        #expect(positions.map { $0[0] } == streams[0] && positions.map { $0[1] } == streams[1] && positions.map { $0[2] } == streams[2])
        #expect(delta == golden["rope_delta"] as? Int)
    }
}
