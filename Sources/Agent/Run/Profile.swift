public import AgentCore
public import Foundation
public import Imaging
public import Models
import Qwen3VLPrompt

/// An agent profile (`Agents/NAME.json`): how to prompt the model and how to run the loop, as data.
/// Every key is checked when it is read (`ProfileDecoding.swift`); Agents/README.md describes them.
public struct Profile: Sendable {
    /// The profile used when none is named.
    public static let defaultName = "desktop-thinking"

    public var name: String
    /// `model_shape`: `thinking` (the output must contain `</think>`) or `instruct`.
    public var shape: OutputShape
    /// `relative` (Qwen3-VL's 0–1000), `pixels`, or `resized:WxH`.
    public var coordinateSpace: CoordinateMapping.CoordinateSpace
    /// The instructions; the `computer_use` tool block is appended to it from the action table.
    public var systemPrompt: String
    /// Extensions offered in the tool block, and the tool's text when the model was trained on other words.
    public var tool: ToolOptions
    public var generation: GenerationSettings
    public var image: ImageLimits
    public var history: HistoryPolicy
    /// Steps before the run ends as budget-exhausted.
    public var stepLimit: Int
    /// Seconds one model reply may take.
    public var stepTimeoutSeconds: Double
    /// Where the profile came from: a file's path, or "built in".
    public internal(set) var origin = "built in"

    /// How large the screenshot sent to the model may be (see ``ModelImage``).
    public struct ImageLimits: Sendable {
        public var minPixels: Int
        /// For served (and scripted) models.
        public var maxPixels: Int
        /// For the embedded engine on the CPU, where every image token costs time.
        public var embeddedMaxPixels: Int

        /// The limits for a backend of this kind.
        public func limits(for kind: ModelIdentity.Kind) -> ModelImage.Limits {
            ModelImage.Limits(minPixels: minPixels, maxPixels: kind == .embedded ? embeddedMaxPixels : maxPixels)
        }
    }

    public struct HistoryPolicy: Sendable {
        /// How many past steps are sent as (screenshot, reply) pairs before the current screenshot.
        public var recentSteps: Int
        /// How many steps older than those are listed as text.
        public var previousActions: Int
    }

    /// The system message: the profile's instructions, a blank line, then the `# Tools` block as Qwen's
    /// chat template writes it, whose tool description states the screen's resolution in `space`.
    ///
    /// - Parameter imageSize: the size of the image the model is shown (after ``ModelImage/prepare(_:limits:space:)``).
    public func systemMessage(for space: CoordinateMapping.CoordinateSpace, imageSize: Size) -> String {
        let tool = ToolSchema.computerUse(resolution: space.extent(imageSize: imageSize), options: tool)
        return systemPrompt + "\n\n" + Qwen3VL.ChatTemplate.toolsSection([tool])
    }

    /// `--max-pixels`: one limit for every backend.
    public mutating func overrideMaxPixels(_ pixels: Int) throws(ProfileError) {
        guard pixels >= image.minPixels else {
            throw ProfileError("--max-pixels \(pixels) is below the profile's image.min_pixels (\(image.minPixels)); give at least that")
        }
        image.maxPixels = pixels
        image.embeddedMaxPixels = pixels
    }
}

// MARK: Finding a profile

extension Profile {
    /// Loads a profile by file path (ending in `.json`), or by name: `NAME.json` in the first of
    /// `folders` that has one, else the built-in profile of that name.
    public static func load(_ nameOrPath: String, searching folders: [URL] = Profile.searchFolders) throws(ProfileError) -> Profile {
        let (data, origin) = try source(nameOrPath, searching: folders)
        return try decode(data, origin: origin)
    }

    /// The text of the profile `nameOrPath` names, and where it came from (a file's path, or "built in").
    static func source(_ nameOrPath: String, searching folders: [URL]) throws(ProfileError) -> (data: Data, origin: String) {
        var file: URL?
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            file = URL(fileURLWithPath: nameOrPath)
        } else {
            file = folders.map { $0.appendingPathComponent(nameOrPath + ".json") }.first { FileManager.default.fileExists(atPath: $0.path) }
            if file == nil, let builtIn = BuiltInProfiles.all.first(where: { $0.name == nameOrPath }) {
                return (Data(builtIn.json.utf8), "built in")
            }
        }
        guard let file else {
            let names = BuiltInProfiles.all.map(\.name)
            throw ProfileError("no agent profile '\(nameOrPath)': no \(nameOrPath).json in \(folders.map(\.path).joined(separator: ", ")), "
                               + "and the built-in ones are \(names.joined(separator: ", "))" + didYouMean(nameOrPath, among: names)
                               + "; pass --agent NAME or a .json file")
        }
        do {
            return (try Data(contentsOf: file), file.path)
        } catch {
            throw ProfileError("cannot read the agent profile \(file.path): \(error.localizedDescription)")
        }
    }

    /// Folders whose `NAME.json` overrides a built-in profile, in order: `./Agents`, the `Agents`
    /// folder of the source checkout the binary was built in, and `~/.config/qwen-agent/agents`.
    public static var searchFolders: [URL] {
        var folders = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Agents")]
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<5 {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                folders.append(directory.appendingPathComponent("Agents"))
                break
            }
            directory.deleteLastPathComponent()
        }
        folders.append(FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/qwen-agent/agents"))
        var seen: Set<String> = []
        return folders.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// Decodes and checks a profile; any problem is one line naming `origin` and the key.
    static func decode(_ data: Data, origin: String) throws(ProfileError) -> Profile {
        do {
            var profile = try JSONDecoder().decode(Profile.self, from: data)
            profile.origin = origin
            return profile
        } catch let error as ProfileFieldError {
            throw ProfileError("the agent profile \(origin): \(error.message)")
        } catch let error as DecodingError {
            throw ProfileError("the agent profile \(origin): \(ProfileFieldError(error).message)")
        } catch {
            throw ProfileError("the agent profile \(origin) cannot be read: \(error)")
        }
    }
}

public struct ProfileError: Error, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}
