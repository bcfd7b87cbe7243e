public import Foundation
public import Models

/// An agent profile (`Agents/NAME.json`): how to prompt the model and how to run the loop, as data.
public struct Profile: Codable, Sendable {
    public var name: String
    /// `thinking` (the output must contain `</think>`) or `instruct`.
    public var modelShape: String
    /// `relative` (Qwen3-VL's 0–1000), `pixels`, or `resized:WxH`.
    public var coordinateSpace: String
    /// The instructions; the `computer_use` tool block is appended to it from the action table.
    public var systemPrompt: String
    public var generation: GenerationSettings
    public var image: ImageLimits
    public var history: HistoryPolicy
    /// Steps before the run ends as budget-exhausted.
    public var stepLimit: Int
    /// Seconds one model reply may take.
    public var stepTimeoutSeconds: Double

    public struct ImageLimits: Codable, Sendable {
        public var minPixels: Int
        public var maxPixels: Int
    }

    public struct HistoryPolicy: Codable, Sendable {
        /// How many recent screenshots to send (the newest always).
        public var screenshots: Int
        /// How many earlier steps to summarise as text.
        public var stepsAsText: Int
    }

    public var shape: OutputShape { OutputShape(rawValue: modelShape) ?? .thinking }

    /// Loads a profile by file path, or by name from an `Agents/` folder: the one given, the one above
    /// the running binary (a source checkout), or `~/.config/qwen-agent/agents`.
    public static func load(_ nameOrPath: String, searching folders: [URL] = Profile.defaultFolders) throws(ProfileError) -> Profile {
        let direct = URL(fileURLWithPath: nameOrPath)
        let candidates = nameOrPath.hasSuffix(".json") ? [direct] : folders.map { $0.appendingPathComponent(nameOrPath + ".json") }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw ProfileError("no agent profile '\(nameOrPath)' (looked in \(candidates.map(\.path).joined(separator: ", ")))")
        }
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Profile.self, from: Data(contentsOf: url))
        } catch {
            throw ProfileError("the agent profile \(url.path) is not valid: \(error)")
        }
    }

    public static var defaultFolders: [URL] {
        var folders: [URL] = []
        var directory = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
        for _ in 0..<5 {
            folders.append(directory.appendingPathComponent("Agents"))
            directory.deleteLastPathComponent()
        }
        folders.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Agents"))
        folders.append(FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/qwen-agent/agents"))
        return folders
    }

    /// The system message: the profile's instructions, then the tool block as Qwen's chat template writes it.
    public func systemMessage(resolution: String) -> String {
        systemPrompt + """


            # Tools

            You may call one or more functions to assist with the user query.

            You are provided with function signatures within <tools></tools> XML tags:
            <tools>
            \(ToolSchema.computerUse(resolution: resolution))
            </tools>

            For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
            <tool_call>
            {"name": <function-name>, "arguments": <args-json-object>}
            </tool_call>
            """
    }
}

public struct ProfileError: Error, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}
