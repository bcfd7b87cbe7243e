public import Qwen3VLPrompt
public import Foundation

extension Qwen3VL {
    /// A downloaded Hugging Face model folder: `config.json`, the optional `generation_config.json` and
    /// `preprocessor_config.json`, and the weights as one `model.safetensors` or several shards listed by
    /// `model.safetensors.index.json`.
    ///
    /// Opening maps every shard and checks that each tensor the index promises is really in its shard,
    /// so a missing or stale shard is reported at load time, not halfway through building the model.
    public struct ModelFolder: Sendable {
        public static let indexFileName = "model.safetensors.index.json"
        public static let singleFileName = "model.safetensors"

        public let url: URL
        public let configuration: Configuration
        /// Nil when the folder has no `generation_config.json`.
        public let generation: GenerationConfig?
        /// The file's values, or the Qwen3-VL release defaults when the folder has no `preprocessor_config.json`.
        public let preprocessor: PreprocessorConfig
        /// Which mapped file holds each tensor.
        private let shardOfTensor: [String: Safetensors]

        public init(contentsOf url: URL) throws {
            self.url = url
            let files = FileManager.default
            func optionalFile(_ name: String) -> URL? {
                let file = url.appendingPathComponent(name)
                return files.fileExists(atPath: file.path) ? file : nil
            }
            configuration = try Configuration(contentsOf: url.appendingPathComponent("config.json"))
            generation = try optionalFile("generation_config.json").map(GenerationConfig.init(contentsOf:))
            preprocessor = try optionalFile("preprocessor_config.json").map(PreprocessorConfig.init(contentsOf:)) ?? PreprocessorConfig()

            if let index = optionalFile(Self.indexFileName) {
                shardOfTensor = try Self.openShards(index: index, folder: url)
            } else if let single = optionalFile(Self.singleFileName) {
                let file = try Safetensors(contentsOf: single)
                shardOfTensor = Dictionary(uniqueKeysWithValues: file.names.map { ($0, file) })
            } else {
                throw WeightsError(.io, "\(url.path): no \(Self.singleFileName) or \(Self.indexFileName)")
            }
        }

        /// Every tensor name in the folder, sorted.
        public var tensorNames: [String] { shardOfTensor.keys.sorted() }

        public func contains(_ name: String) -> Bool { shardOfTensor[name] != nil }

        /// The tensor `name` from whichever shard holds it; throws `.missingTensor` naming it if none does.
        public func tensor(named name: String) throws -> TensorView {
            guard let file = shardOfTensor[name] else {
                throw WeightsError(.missingTensor, "\(url.path): no tensor named \(name)")
            }
            return try file.tensor(named: name)
        }

        /// The tensor `name`, which must have exactly `shape`; the engine calls this for every weight so
        /// a checkpoint that does not match `config.json` fails with the tensor's name.
        public func expect(_ name: String, shape: [Int]) throws -> TensorView {
            let view = try tensor(named: name)
            guard view.shape == shape else {
                throw WeightsError(.shapeMismatch, "\(url.path): tensor \(name) has shape \(view.shape), expected \(shape)")
            }
            return view
        }

        /// Maps each shard the index names once and checks every index entry against its shard.
        private static func openShards(index: URL, folder: URL) throws -> [String: Safetensors] {
            struct Index: Decodable {
                let weightMap: [String: String]
                enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
            }
            let weightMap = try decodeConfigFile(Index.self, at: index).weightMap
            var shards: [String: Safetensors] = [:]
            var result: [String: Safetensors] = [:]
            for (name, shardName) in weightMap.sorted(by: { $0.key < $1.key }) {
                // Shard names are plain file names; anything else could read outside the folder.
                guard !shardName.isEmpty, !shardName.contains("/"), shardName != ".", shardName != ".." else {
                    throw WeightsError(.invalidConfig, "\(index.path): tensor \(name) maps to \"\(shardName)\", which is not a file name in the folder")
                }
                let shard: Safetensors
                if let open = shards[shardName] {
                    shard = open
                } else {
                    shard = try Safetensors(contentsOf: folder.appendingPathComponent(shardName))
                    shards[shardName] = shard
                }
                guard shard.contains(name) else {
                    throw WeightsError(.missingTensor, "\(index.path): tensor \(name) is listed in \(shardName), which does not contain it")
                }
                result[name] = shard
            }
            return result
        }
    }
}
