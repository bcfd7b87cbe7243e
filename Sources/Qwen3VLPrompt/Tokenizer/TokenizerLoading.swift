public import Foundation

extension Qwen3VL.Tokenizer {
    /// Loads the tokenizer in a model folder: `tokenizer.json` when there is one, otherwise `vocab.json`,
    /// `merges.txt` and the added tokens of `tokenizer_config.json`. All three are required in the second
    /// case: without the added tokens, chat markup would be split into ordinary text.
    public static func load(folder: URL) throws -> Qwen3VL.Tokenizer {
        let tokenizerJSON = folder.appending(path: "tokenizer.json")
        if FileManager.default.fileExists(atPath: tokenizerJSON.path) {
            return try Qwen3VL.Tokenizer(tokenizerJSON: tokenizerJSON)
        }
        let vocabulary = folder.appending(path: "vocab.json")
        guard FileManager.default.fileExists(atPath: vocabulary.path) else {
            throw Qwen3VL.TokenizerError(.missingFile, "\(folder.path): no tokenizer.json or vocab.json in this folder")
        }
        return try Qwen3VL.Tokenizer(
            vocabulary: vocabulary, merges: folder.appending(path: "merges.txt"),
            config: folder.appending(path: "tokenizer_config.json"))
    }

    /// Loads the slow-tokenizer files: `vocab.json` (token → id), `merges.txt` (one `left right` pair per
    /// line, lowest rank first, after an optional `#version` line) and `tokenizer_config.json`, whose
    /// `added_tokens_decoder` gives the added tokens.
    public convenience init(vocabulary: URL, merges: URL, config: URL) throws {
        try self.init(vocabulary: .read(vocabulary), merges: .read(merges), config: .read(config))
    }

    /// The slow-tokenizer files' bytes, already read (fuzzing passes them without writing files).
    package convenience init(vocabulary: FileContents, merges: FileContents, config: FileContents) throws {
        let vocabularyTable = try Self.decode([String: Int32].self, from: vocabulary)
        let mergesText = String(decoding: merges.data, as: UTF8.self)
        var lines = mergesText.split(whereSeparator: \.isNewline)
        if lines.first?.hasPrefix("#version") == true { lines.removeFirst() }
        let pairs = try lines.enumerated().map { number, line in
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw Qwen3VL.TokenizerError(.invalidFile, "\(merges.url.path): merge \(number) is not two tokens: \(line.debugDescription)")
            }
            return (parts[0], parts[1])
        }
        let added = try Self.decode(TokenizerConfig.self, from: config).added_tokens_decoder ?? [:]
        let addedTokens = try added.map { key, token in
            guard let id = Int32(key) else {
                throw Qwen3VL.TokenizerError(.invalidFile, "\(config.url.path): added token id \(key.debugDescription) is not a number")
            }
            return AddedToken(id: id, content: token.content, special: token.special ?? false)
        }
        try self.init(
            vocabulary: vocabularyTable, merges: pairs, addedTokens: addedTokens,
            source: "\(vocabulary.url.lastPathComponent) + \(merges.url.lastPathComponent) in \(vocabulary.url.deletingLastPathComponent().path)")
    }

    /// Loads an HF fast-tokenizer file: `model.vocab`, `model.merges` (as `"a b"` strings or `["a", "b"]`
    /// pairs) and `added_tokens`.
    public convenience init(tokenizerJSON url: URL) throws {
        try self.init(tokenizerJSON: .read(url))
    }

    /// `tokenizer.json`'s bytes, already read.
    package convenience init(tokenizerJSON contents: FileContents) throws {
        let url = contents.url
        let file = try Self.decode(TokenizerFile.self, from: contents)
        let modelType = file.model.type ?? "BPE"
        guard modelType == "BPE" else {
            throw Qwen3VL.TokenizerError(.invalidFile, "\(url.path): model type \(modelType) is not BPE")
        }
        let pairs = try file.model.merges.enumerated().map { number, merge in
            guard let pair = merge.pair else {
                throw Qwen3VL.TokenizerError(.invalidFile, "\(url.path): merge \(number) is not two tokens")
            }
            return pair
        }
        try self.init(
            vocabulary: file.model.vocab, merges: pairs,
            addedTokens: (file.added_tokens ?? []).map { AddedToken(id: $0.id, content: $0.content, special: $0.special ?? false) },
            source: url.path)
    }

    // MARK: File formats

    /// The part of `tokenizer_config.json` the tokenizer reads.
    private struct TokenizerConfig: Decodable {
        struct Token: Decodable {
            var content: String
            var special: Bool?
        }
        var added_tokens_decoder: [String: Token]?
    }

    /// The part of `tokenizer.json` the tokenizer reads.
    private struct TokenizerFile: Decodable {
        struct Model: Decodable {
            var type: String?
            var vocab: [String: Int32]
            var merges: [MergeEntry]
        }
        struct Token: Decodable {
            var id: Int32
            var content: String
            var special: Bool?
        }
        var model: Model
        var added_tokens: [Token]?
    }

    /// One merge, written either as `"left right"` (older files) or `["left", "right"]` (newer files).
    private struct MergeEntry: Decodable {
        var pair: (Substring, Substring)?

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let parts: [Substring]
            if let text = try? container.decode(String.self) {
                parts = text.split(separator: " ")
            } else {
                parts = try container.decode([String].self).map { Substring($0) }
            }
            pair = parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    /// One tokenizer file's bytes and the file they came from, which messages name.
    package struct FileContents {
        package let url: URL
        package let data: Data

        package init(url: URL, data: Data) {
            self.url = url
            self.data = data
        }

        static func read(_ url: URL) throws -> FileContents {
            do {
                return FileContents(url: url, data: try Data(contentsOf: url, options: .mappedIfSafe))
            } catch {
                throw Qwen3VL.TokenizerError(.missingFile, "\(url.path): cannot read (\(error.localizedDescription))")
            }
        }
    }

    private static func decode<Value: Decodable>(_ type: Value.Type, from file: FileContents) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: file.data)
        } catch {
            throw Qwen3VL.TokenizerError(.invalidFile, "\(file.url.path): not a valid \(file.url.lastPathComponent) (\(error))")
        }
    }
}
