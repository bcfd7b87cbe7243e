public import AgentCore
import Foundation
import Models

// Reading a profile strictly: an unknown or misspelled key, a value outside its range, or a choice
// that is not one of the accepted ones is an error that names the key, instead of a silent default.

extension Profile: Decodable {
    private enum Keys: String, CodingKey, CaseIterable {
        case name
        case modelShape = "model_shape"
        case coordinateSpace = "coordinate_space"
        case systemPrompt = "system_prompt"
        case tool, generation, image, history
        case stepLimit = "step_limit"
        case stepTimeoutSeconds = "step_timeout_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.checkedContainer(keyedBy: Keys.self)
        name = try keys.decode(String.self, forKey: .name)
        let shape = try keys.decode(String.self, forKey: .modelShape)
        guard let known = OutputShape(rawValue: shape) else {
            throw ProfileFieldError.notOneOf(Keys.modelShape.rawValue, shape, OutputShape.allCases.map(\.rawValue))
        }
        self.shape = known
        let space = try keys.decode(String.self, forKey: .coordinateSpace)
        guard let parsed = CoordinateMapping.CoordinateSpace(profileValue: space) else {
            throw ProfileFieldError.notOneOf(Keys.coordinateSpace.rawValue, space, ["relative", "pixels", "resized:WxH"])
        }
        coordinateSpace = parsed
        systemPrompt = try keys.decode(String.self, forKey: .systemPrompt)
        tool = try keys.decodeIfPresent(ToolOptions.self, forKey: .tool) ?? ToolOptions()
        generation = try keys.decode(ProfileGeneration.self, forKey: .generation).settings
        image = try keys.decode(ImageLimits.self, forKey: .image)
        history = try keys.decode(HistoryPolicy.self, forKey: .history)
        stepLimit = try keys.decode(Int.self, forKey: .stepLimit)
        try ProfileFieldError.check(stepLimit >= 1, Keys.stepLimit.rawValue, stepLimit, "at least 1")
        stepTimeoutSeconds = try keys.decode(Double.self, forKey: .stepTimeoutSeconds)
        try ProfileFieldError.check(stepTimeoutSeconds > 0 && stepTimeoutSeconds.isFinite, Keys.stepTimeoutSeconds.rawValue, stepTimeoutSeconds,
                                    "a positive number of seconds")
    }
}

extension Profile.ImageLimits: Decodable {
    private enum Keys: String, CodingKey, CaseIterable {
        case minPixels = "min_pixels"
        case maxPixels = "max_pixels"
        case embeddedMaxPixels = "embedded_max_pixels"
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.checkedContainer(keyedBy: Keys.self)
        minPixels = try keys.decode(Int.self, forKey: .minPixels)
        try ProfileFieldError.check(minPixels >= 1, "image.min_pixels", minPixels, "at least 1")
        maxPixels = try keys.decode(Int.self, forKey: .maxPixels)
        try ProfileFieldError.check(maxPixels >= minPixels, "image.max_pixels", maxPixels, "at least image.min_pixels (\(minPixels))")
        embeddedMaxPixels = try keys.decodeIfPresent(Int.self, forKey: .embeddedMaxPixels) ?? maxPixels
        try ProfileFieldError.check(embeddedMaxPixels >= minPixels, "image.embedded_max_pixels", embeddedMaxPixels,
                                    "at least image.min_pixels (\(minPixels))")
    }
}

extension Profile.HistoryPolicy: Decodable {
    private enum Keys: String, CodingKey, CaseIterable {
        case recentSteps = "recent_steps"
        case previousActions = "previous_actions"
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.checkedContainer(keyedBy: Keys.self, renamed: [
            "screenshots": "recent_steps (past steps sent with their screenshot; screenshots N is recent_steps N-1)",
            "steps_as_text": "previous_actions",
        ])
        recentSteps = try keys.decode(Int.self, forKey: .recentSteps)
        try ProfileFieldError.check(recentSteps >= 0, "history.recent_steps", recentSteps, "0 or more")
        previousActions = try keys.decode(Int.self, forKey: .previousActions)
        try ProfileFieldError.check(previousActions >= 0, "history.previous_actions", previousActions, "0 or more")
    }
}

extension ToolOptions: Decodable {
    private enum Keys: String, CodingKey, CaseIterable {
        case extensions, description
        case actionHeading = "action_heading"
        case actionDescriptions = "action_descriptions"
        case parameterDescriptions = "parameter_descriptions"
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let keys = try decoder.checkedContainer(keyedBy: Keys.self)
        for name in try keys.decodeIfPresent([String].self, forKey: .extensions) ?? [] {
            guard ActionTable.extensionNames.contains(name) else {
                throw ProfileFieldError.notOneOf("tool.extensions", name, ActionTable.extensionNames)
            }
            extensions.insert(name)
        }
        description = try keys.decodeIfPresent(String.self, forKey: .description)
        if let description, !description.contains(ToolSchema.resolutionPlaceholder) {
            throw ProfileFieldError("tool.description has no \(ToolSchema.resolutionPlaceholder); put it where the screen's size goes "
                                    + "(\"The screen's resolution is \(ToolSchema.resolutionPlaceholder).\")")
        }
        actionHeading = try keys.decodeIfPresent(String.self, forKey: .actionHeading)
        for (name, text) in try keys.decodeIfPresent([String: String].self, forKey: .actionDescriptions) ?? [:] {
            guard let action = ActionName(rawValue: name) else {
                throw ProfileFieldError.notOneOf("a key of tool.action_descriptions", name, ActionName.allCases.map(\.rawValue))
            }
            actionDescriptions[action] = text
        }
        let parameters = ActionTable.all.flatMap(\.parameters).map(\.name).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        parameterDescriptions = try keys.decodeIfPresent([String: String].self, forKey: .parameterDescriptions) ?? [:]
        for name in parameterDescriptions.keys.sorted() where !parameters.contains(name) {
            throw ProfileFieldError.notOneOf("a key of tool.parameter_descriptions", name, parameters)
        }
    }
}

/// `generation`: the sampling settings; a key left out is left to the backend.
private struct ProfileGeneration: Decodable {
    let settings: GenerationSettings

    private enum Keys: String, CodingKey, CaseIterable {
        case temperature
        case topP = "top_p"
        case topK = "top_k"
        case presencePenalty = "presence_penalty"
        case maxNewTokens = "max_new_tokens"
        case maxThinkingTokens = "max_thinking_tokens"
        case seed
    }

    init(from decoder: any Decoder) throws {
        let keys = try decoder.checkedContainer(keyedBy: Keys.self)
        var settings = GenerationSettings()
        settings.temperature = try keys.decodeIfPresent(Double.self, forKey: .temperature)
        settings.topP = try keys.decodeIfPresent(Double.self, forKey: .topP)
        settings.topK = try keys.decodeIfPresent(Int.self, forKey: .topK)
        settings.presencePenalty = try keys.decodeIfPresent(Double.self, forKey: .presencePenalty)
        settings.maxNewTokens = try keys.decodeIfPresent(Int.self, forKey: .maxNewTokens)
        settings.maxThinkingTokens = try keys.decodeIfPresent(Int.self, forKey: .maxThinkingTokens)
        settings.seed = try keys.decodeIfPresent(UInt64.self, forKey: .seed)
        if let value = settings.temperature {
            try ProfileFieldError.check(value >= 0 && value.isFinite, "generation.temperature", value, "0 or more (0 is greedy)")
        }
        if let value = settings.topP { try ProfileFieldError.check(value > 0 && value <= 1, "generation.top_p", value, "above 0 and at most 1") }
        if let value = settings.topK { try ProfileFieldError.check(value >= 1, "generation.top_k", value, "at least 1") }
        if let value = settings.presencePenalty {
            try ProfileFieldError.check(value >= -2 && value <= 2, "generation.presence_penalty", value, "between -2 and 2")
        }
        if let value = settings.maxNewTokens { try ProfileFieldError.check(value >= 1, "generation.max_new_tokens", value, "at least 1") }
        if let value = settings.maxThinkingTokens {
            try ProfileFieldError.check(value >= 1, "generation.max_thinking_tokens", value, "at least 1")
            if let total = settings.maxNewTokens {
                try ProfileFieldError.check(value < total, "generation.max_thinking_tokens", value,
                                            "below generation.max_new_tokens (\(total)), which also holds the answer after the reasoning")
            }
        }
        self.settings = settings
    }
}

// MARK: Errors in one line

/// A problem with one key of a profile.
struct ProfileFieldError: Error {
    let message: String

    init(_ message: String) { self.message = message }

    static func check(_ isValid: Bool, _ field: String, _ value: some Any, _ rule: String) throws(ProfileFieldError) {
        guard !isValid else { return }
        let shown = (value as? Double).map { ModelPoint.format($0) } ?? "\(value)"
        throw ProfileFieldError("\(field) is \(shown); it must be \(rule)")
    }

    static func notOneOf(_ field: String, _ value: String, _ accepted: [String]) -> ProfileFieldError {
        ProfileFieldError("\(field) is '\(value)'; it must be one of \(accepted.joined(separator: ", "))" + didYouMean(value, among: accepted))
    }

    /// What a `DecodingError` means, in the profile's own key names.
    init(_ error: DecodingError) {
        func field(_ path: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            (path + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            message = "the key '\(field(context.codingPath, key))' is missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            message = "\(field(context.codingPath)) must be \(Self.kind(of: type))"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let detail = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
            message = "it is not valid JSON (\(detail))"
        case .dataCorrupted(let context):
            message = "\(field(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            message = "\(error)"
        }
    }

    private static func kind(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type: "a number"
        case is Int.Type, is UInt64.Type: "a whole number"
        case is [String].Type: "a list of strings"
        default: "an object"
        }
    }
}

/// "; did you mean 'x'?" for the accepted value closest to `value`, when it is close enough to be a typo.
func didYouMean(_ value: String, among accepted: [String]) -> String {
    let scored = accepted.map { ($0, editDistance(value.lowercased(), $0.lowercased())) }
    guard let (best, distance) = scored.min(by: { $0.1 < $1.1 }), distance <= max(2, best.count / 3) else { return "" }
    return "; did you mean '\(best)'?"
}

/// Levenshtein distance: insertions, deletions and substitutions.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1]
        for (j, y) in b.enumerated() {
            current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
        }
        previous = current
    }
    return previous[b.count]
}

/// Any key, to list what an object holds.
private struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// The object's container, after checking that every key in it is one of `Key`'s; an unknown one is
    /// an error naming it, with the closest known key or what a `renamed` key is called now.
    fileprivate func checkedContainer<Key: CodingKey & CaseIterable & RawRepresentable<String>>(
        keyedBy: Key.Type, renamed: [String: String] = [:]) throws -> KeyedDecodingContainer<Key>
    {
        let known = Key.allCases.map(\.rawValue)
        let prefix = codingPath.map(\.stringValue).map { $0 + "." }.joined()
        for key in try container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).sorted() where !known.contains(key) {
            if let now = renamed[key] { throw ProfileFieldError("\(prefix)\(key) was renamed: use \(prefix)\(now)") }
            throw ProfileFieldError("unknown key '\(prefix)\(key)'" + didYouMean(key, among: known)
                                    + " (known here: \(known.joined(separator: ", ")))")
        }
        return try container(keyedBy: Key.self)
    }
}
