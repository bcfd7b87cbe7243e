import Desktop
import Foundation

/// What `--model` (and `--tokenizer`) name for the embedded engine: a folder, or a Hugging Face repo id
/// (`Qwen/Qwen3-VL-2B-Thinking`) that is looked up in the local Hugging Face cache — never downloaded.
enum ModelLocation {
    /// The folder `value` names. A path that exists is taken as it is; otherwise an `owner/name` value
    /// is looked up in the Hugging Face cache (`snapshots/<revision>` that `refs/main` names).
    /// Every failure (status 65) says what was looked for, where, and what to do.
    static func resolve(_ value: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> URL {
        let path = value.hasPrefix("~/") ? home(environment) + value.dropFirst() : value
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw Failure("\(value) is a file; give the model's folder (config.json, *.safetensors, tokenizer files)", status: ExitStatus.dataError)
            }
            return URL(fileURLWithPath: path)
        }
        guard isRepositoryID(value) else {
            throw Failure("there is no folder \(value); give a folder, or a Hugging Face repo id such as Qwen/Qwen3-VL-2B-Thinking",
                          status: ExitStatus.dataError)
        }
        let cache = hubCache(environment)
        let repository = cache.appendingPathComponent("models--" + value.replacingOccurrences(of: "/", with: "--"))
        let snapshots = repository.appendingPathComponent("snapshots")
        let download = "download it with `hf download \(value)` (pip install huggingface_hub), or give a model folder"
        guard let revisions = try? FileManager.default.contentsOfDirectory(atPath: snapshots.path), !revisions.isEmpty else {
            throw Failure("\(value) is not a folder here, and not in the Hugging Face cache \(cache.path); \(download)", status: ExitStatus.dataError)
        }
        let main = (try? String(contentsOf: repository.appendingPathComponent("refs/main"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if let main, revisions.contains(main) { return snapshots.appendingPathComponent(main) }
        if main == nil, revisions.count == 1 { return snapshots.appendingPathComponent(revisions[0]) }
        throw Failure("the Hugging Face cache has \(value) (\(repository.path)) but not the revision refs/main names; \(download)",
                      status: ExitStatus.dataError)
    }

    /// Where Hugging Face keeps downloads: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` (huggingface_hub's order).
    static func hubCache(_ environment: [String: String]) -> URL {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let cache = variable("HF_HUB_CACHE") { return URL(fileURLWithPath: cache) }
        let hfHome = variable("HF_HOME") ?? ((variable("XDG_CACHE_HOME") ?? home(environment) + "/.cache") + "/huggingface")
        return URL(fileURLWithPath: hfHome).appendingPathComponent("hub")
    }

    /// Where the embedded engine keeps prompt files: `$XDG_CACHE_HOME/qwen-agent/prompts`, else `~/.cache/qwen-agent/prompts`.
    static func promptFiles(_ environment: [String: String]) -> URL {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home(environment) + "/.cache"
        return URL(fileURLWithPath: cache).appendingPathComponent("qwen-agent/prompts")
    }

    /// `owner/name` with Hugging Face's characters: letters, digits, `-`, `_`, `.`.
    static func isRepositoryID(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { part in
            !part.isEmpty && !part.hasPrefix(".") && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
    }

    private static func home(_ environment: [String: String]) -> String {
        environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    }
}
