import Foundation

extension Qwen3VL {
    /// The chat template writes one `<|image_pad|>` per image; the model needs one per merged vision
    /// row. Replaces each image's placeholder, in order, with as many pads as its grid has tokens.
    ///
    /// Text in the conversation (a task, a model's earlier reply, a tool result) can spell the markup
    /// itself, and the tokenizer would read it as the pad token, which has no image features behind it.
    /// Such a prompt is refused with a message instead of reaching the model.
    public static func expandImagePads(in text: String, grids: [Grid]) throws(TemplateError) -> String {
        let pad = "<|image_pad|>"
        let placeholder = "<|vision_start|>\(pad)<|vision_end|>"
        let pieces = text.components(separatedBy: placeholder)
        guard pieces.count == grids.count + 1, !pieces.contains(where: { $0.contains(pad) }) else {
            throw TemplateError("the conversation's text contains Qwen3-VL's image markup \(pad), which only images may use; "
                                + "remove it from the task or the messages")
        }
        return pieces[0] + zip(grids, pieces.dropFirst()).map { grid, rest in
            "<|vision_start|>" + String(repeating: pad, count: grid.tokens) + "<|vision_end|>" + rest
        }.joined()
    }
}
