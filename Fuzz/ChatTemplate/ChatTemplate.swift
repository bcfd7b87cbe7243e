import Foundation
import FuzzSupport
import Qwen3VLPrompt

/// Qwen's tokenizer, loaded before the first input (main.swift).
let tokenizer = try! Qwen3VL.Tokenizer.load(folder: fixturesFolder.appendingPathComponent("QwenTokenizer"))

/// The id of `<|image_pad|>` in that vocabulary.
let imagePad: Int32 = {
    let ids = tokenizer.encode("<|image_pad|>")
    precondition(ids.count == 1, "<|image_pad|> is not one token")
    return ids[0]
}()

/// The chat template given hostile content: the input is cut at NUL bytes into the fields of a
/// conversation (role, text, reasoning, tool-call name and arguments, five per message), with image
/// parts, tools and both variants. The same bytes are also tried as a template file and as tool JSON.
/// A prompt the engine accepts has exactly one `<|image_pad|>` token per merged row of its images.
func fuzzChatTemplate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let whole = String(decoding: bytes, as: UTF8.self)
    _ = Qwen3VL.ChatTemplate.recognise(whole)
    let tool = Qwen3VL.OrderedJSON(parsing: whole)

    let fields = pieces(of: bytes, separatedBy: [0]).map { String(decoding: $0, as: UTF8.self) }
    let roles = ["system", "user", "assistant", "tool"]
    var messages: [Qwen3VL.ChatTemplate.Message] = []
    var images = 0
    for start in stride(from: 0, to: fields.count, by: 5) {
        let field = { (offset: Int) in start + offset < fields.count ? fields[start + offset] : "" }
        let role = roles.first { field(0).hasPrefix($0) } ?? field(0)
        let content: Qwen3VL.ChatTemplate.Content = field(1).utf8.count % 2 == 0
            ? .text(field(1)) : .parts([.image, .text(field(1)), .video])
        if case .parts = content { images += 1 }
        var calls: [Qwen3VL.ChatTemplate.ToolCall] = []
        if !field(3).isEmpty {
            let arguments = Qwen3VL.OrderedJSON(parsing: field(4)).map { Qwen3VL.ChatTemplate.ToolCall.Arguments.object($0) } ?? .text(field(4))
            calls.append(.init(name: field(3), arguments: arguments))
        }
        messages.append(.init(role: role, content: content, reasoningContent: field(2).isEmpty ? nil : field(2), toolCalls: calls))
    }
    for variant in [Qwen3VL.ChatTemplate.Variant.thinking, .instruct] {
        let template = Qwen3VL.ChatTemplate(variant)
        let prompt = template.render(messages, tools: tool.map { [$0] } ?? [], addGenerationPrompt: true, addVisionID: bytes.count % 2 == 0)
        let grids = Array(repeating: Qwen3VL.Grid(t: 1, h: 4, w: 6, mergeSize: 2), count: images)
        guard let text = try? Qwen3VL.expandImagePads(in: prompt, grids: grids) else { continue }
        let pads = tokenizer.encode(text).filter { $0 == imagePad }.count
        precondition(pads == images * 6, "\(pads) image pad tokens for \(images) images of 6 merged squares")
    }
    return 0
}
