public import Foundation

extension Qwen3VL {
    /// The Qwen3-VL chat templates, rendered in Swift exactly as transformers' Jinja renders the
    /// official templates (trim_blocks, lstrip_blocks): Instruct, and Thinking (whose generation
    /// prompt ends with `<think>\n`, and which re-renders reasoning after the last real user turn).
    ///
    /// A model folder carries its own template; ``load(folder:)`` reads it (`chat_template.json`,
    /// `chat_template.jinja`, or `tokenizer_config.json`) and selects the matching rendering, and
    /// refuses a template it does not recognise rather than guessing.
    public struct ChatTemplate: Sendable, Equatable {
        public enum Variant: String, Sendable {
            case instruct, thinking
        }

        public let variant: Variant

        public init(_ variant: Variant) { self.variant = variant }

        // MARK: Conversation

        public struct Message: Sendable {
            public var role: String
            public var content: Content
            public var reasoningContent: String?
            public var toolCalls: [ToolCall]

            public init(role: String, content: Content, reasoningContent: String? = nil, toolCalls: [ToolCall] = []) {
                self.role = role
                self.content = content
                self.reasoningContent = reasoningContent
                self.toolCalls = toolCalls
            }
        }

        public enum Content: Sendable {
            case text(String)
            case parts([Part])
        }

        public enum Part: Sendable {
            case image, video
            case text(String)
        }

        public struct ToolCall: Sendable {
            public var name: String
            /// Arguments as an object (rendered with `tojson`) or as text written out as it is.
            public var arguments: Arguments

            public enum Arguments: Sendable {
                case object(OrderedJSON)
                case text(String)
            }

            public init(name: String, arguments: Arguments) {
                self.name = name
                self.arguments = arguments
            }
        }

        // MARK: Loading from a model folder

        /// The folder's template: `chat_template.json`, then `chat_template.jinja`, then the
        /// `chat_template` key of `tokenizer_config.json`.
        public static func load(folder: URL) throws(TemplateError) -> ChatTemplate {
            for name in ["chat_template.json", "chat_template.jinja", "tokenizer_config.json"] {
                let url = folder.appendingPathComponent(name)
                guard let data = try? Data(contentsOf: url) else { continue }
                let text: String?
                if name.hasSuffix(".jinja") {
                    text = String(decoding: data, as: UTF8.self)
                } else {
                    text = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["chat_template"] as? String
                }
                guard let text else { continue }
                guard let template = recognise(text) else {
                    throw TemplateError("\(url.path) holds a chat template that is not one of Qwen3-VL's (Instruct or Thinking)")
                }
                return template
            }
            throw TemplateError("\(folder.path) has no chat template (chat_template.json, chat_template.jinja or tokenizer_config.json)")
        }

        /// Which official template `text` is, by the parts that tell them apart.
        public static func recognise(_ text: String) -> ChatTemplate? {
            guard text.contains("<|vision_start|><|image_pad|><|vision_end|>"), text.contains("<tool_response>") else { return nil }
            if text.contains("'<|im_start|>assistant\\n<think>\\n'") { return ChatTemplate(.thinking) }
            if text.contains("'<|im_start|>assistant\\n'") { return ChatTemplate(.instruct) }
            return nil
        }

        // MARK: Rendering

        public func render(_ messages: [Message], tools: [OrderedJSON] = [], addGenerationPrompt: Bool, addVisionID: Bool = false) -> String {
            var counter = VisionCounter(addVisionID: addVisionID)
            var out = ""
            let first = messages.first
            if !tools.isEmpty {
                out += "<|im_start|>system\n"
                if let first, first.role == "system" { out += systemText(first.content, &counter) + "\n\n" }
                out += Self.toolsSection(tools) + "<|im_end|>\n"
            } else if let first, first.role == "system" {
                out += "<|im_start|>system\n" + systemText(first.content, &counter) + "<|im_end|>\n"
            }
            switch variant {
            case .instruct: renderInstruct(messages, &counter, into: &out)
            case .thinking: renderThinking(messages, &counter, into: &out)
            }
            if addGenerationPrompt { out += variant == .thinking ? "<|im_start|>assistant\n<think>\n" : "<|im_start|>assistant\n" }
            return out
        }

        /// The `# Tools` section both templates write into the system turn (after the system text and a
        /// blank line): the function-calling instructions with each tool's `tojson` inside `<tools>`.
        /// Agents that put the tools into the system message themselves, as Qwen's cookbooks do, use it too.
        public static func toolsSection(_ tools: [OrderedJSON]) -> String {
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
                + tools.map { "\n" + $0.json }.joined()
                + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
                + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
        }

        private func systemText(_ content: Content, _ counter: inout VisionCounter) -> String {
            switch variant {
            // Instruct keeps only the text of a system message; Thinking renders it like any content.
            case .instruct: if case .parts(let parts) = content { return parts.map { if case .text(let t) = $0 { t } else { "" } }.joined() }
            case .thinking: break
            }
            return render(content, &counter, counting: false)
        }

        private func renderInstruct(_ messages: [Message], _ counter: inout VisionCounter, into out: inout String) {
            for (index, message) in messages.enumerated() {
                switch message.role {
                case "user":
                    out += "<|im_start|>user\n" + render(message.content, &counter, counting: true) + "<|im_end|>\n"
                case "assistant":
                    let content: String = switch message.content {
                    case .text(let text): text
                    case .parts(let parts): parts.map { if case .text(let t) = $0 { t } else { "" } }.joined()
                    }
                    let hasContent: Bool = switch message.content {
                    case .text(let text): !text.isEmpty
                    case .parts(let parts): !parts.isEmpty
                    }
                    out += "<|im_start|>assistant\n" + content + toolCalls(message.toolCalls, afterContent: hasContent) + "<|im_end|>\n"
                case "tool":
                    out += toolResponse(messages, index, render(message.content, &counter, counting: true))
                default:
                    break
                }
            }
        }

        private func renderThinking(_ messages: [Message], _ counter: inout VisionCounter, into out: inout String) {
            // The last user turn that is not only tool responses: reasoning after it is shown again.
            var lastQuery = messages.count - 1
            for (index, message) in messages.enumerated().reversed() where message.role == "user" {
                var scratch = VisionCounter(addVisionID: counter.addVisionID)
                let content = render(message.content, &scratch, counting: false)
                if !(content.hasPrefix("<tool_response>") && content.hasSuffix("</tool_response>")) {
                    lastQuery = index
                    break
                }
            }
            for (index, message) in messages.enumerated() {
                var content = render(message.content, &counter, counting: true)
                switch message.role {
                case "user":
                    out += "<|im_start|>user\n" + content + "<|im_end|>\n"
                case "system" where index > 0:
                    out += "<|im_start|>system\n" + content + "<|im_end|>\n"
                case "assistant":
                    var reasoning = ""
                    if let given = message.reasoningContent {
                        reasoning = given
                    } else if let close = content.range(of: "</think>") {
                        let before = String(content[..<close.lowerBound]).droppingTrailing("\n")
                        reasoning = String(before.components(separatedBy: "<think>").last ?? "").droppingLeading("\n")
                        content = (content.components(separatedBy: "</think>").last ?? "").droppingLeading("\n")
                    }
                    if index > lastQuery && (index == messages.count - 1 || !reasoning.isEmpty) {
                        out += "<|im_start|>assistant\n<think>\n" + reasoning.droppingLeading("\n").droppingTrailing("\n")
                            + "\n</think>\n\n" + content.droppingLeading("\n")
                    } else {
                        out += "<|im_start|>assistant\n" + content
                    }
                    out += toolCalls(message.toolCalls, afterContent: !content.isEmpty) + "<|im_end|>\n"
                case "tool":
                    out += toolResponse(messages, index, content)
                default:
                    break
                }
            }
        }

        private func render(_ content: Content, _ counter: inout VisionCounter, counting: Bool) -> String {
            switch content {
            case .text(let text): return text
            case .parts(let parts):
                return parts.map { part in
                    switch part {
                    case .image: counter.image(counting: counting) + "<|vision_start|><|image_pad|><|vision_end|>"
                    case .video: counter.video(counting: counting) + "<|vision_start|><|video_pad|><|vision_end|>"
                    case .text(let text): text
                    }
                }.joined()
            }
        }

        private func toolCalls(_ calls: [ToolCall], afterContent: Bool) -> String {
            calls.enumerated().map { index, call in
                let arguments: String = switch call.arguments {
                case .object(let value): value.json
                case .text(let text): text
                }
                return (index > 0 || afterContent ? "\n" : "") + "<tool_call>\n{\"name\": \"\(call.name)\", \"arguments\": \(arguments)}\n</tool_call>"
            }.joined()
        }

        /// Consecutive tool messages share one user turn.
        private func toolResponse(_ messages: [Message], _ index: Int, _ content: String) -> String {
            var out = index == 0 || messages[index - 1].role != "tool" ? "<|im_start|>user" : ""
            out += "\n<tool_response>\n" + content + "\n</tool_response>"
            if index == messages.count - 1 || messages[index + 1].role != "tool" { out += "<|im_end|>\n" }
            return out
        }

        /// `Picture N: ` / `Video N: ` labels, when the caller asks for them.
        private struct VisionCounter {
            let addVisionID: Bool
            var images = 0, videos = 0

            mutating func image(counting: Bool) -> String {
                if counting { images += 1 }
                return addVisionID ? "Picture \(images): " : ""
            }

            mutating func video(counting: Bool) -> String {
                if counting { videos += 1 }
                return addVisionID ? "Video \(videos): " : ""
            }
        }
    }

    /// A chat template that cannot be found or is not one this engine renders.
    public struct TemplateError: Error, Sendable {
        public let message: String
        init(_ message: String) { self.message = message }
    }
}

extension String {
    /// Python's `lstrip(characters)` for one character.
    func droppingLeading(_ character: Character) -> String { String(drop { $0 == character }) }
    /// Python's `rstrip(characters)` for one character.
    func droppingTrailing(_ character: Character) -> String {
        var result = self
        while result.last == character { result.removeLast() }
        return result
    }
}
