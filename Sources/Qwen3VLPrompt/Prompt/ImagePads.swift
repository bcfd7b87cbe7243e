import Foundation

extension Qwen3VL {
    /// The chat template writes one `<|image_pad|>` per image; the model needs one per merged vision
    /// row. Replaces each image's placeholder, in order, with as many pads as its grid has tokens.
    public static func expandImagePads(in text: String, grids: [Grid]) -> String {
        let placeholder = "<|vision_start|><|image_pad|><|vision_end|>"
        let pieces = text.components(separatedBy: placeholder)
        precondition(pieces.count == grids.count + 1, "\(pieces.count - 1) image placeholders for \(grids.count) images")
        return pieces[0] + zip(grids, pieces.dropFirst()).map { grid, rest in
            "<|vision_start|>" + String(repeating: "<|image_pad|>", count: grid.tokens) + "<|vision_end|>" + rest
        }.joined()
    }
}
