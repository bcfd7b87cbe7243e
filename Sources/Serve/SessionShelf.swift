import Agent
import AgentCore
import Foundation

/// The session folders under one directory, for the Sessions tab. A name from a URL only ever opens a
/// real folder directly inside that directory: no `..`, no absolute path, no symbolic link.
struct SessionShelf: Sendable {
    let root: URL

    struct Entry: Encodable {
        let name: String
        let task: String
        let started: String
        let profile: String
        let model: String
        let steps: Int
        /// Nil while a run goes on (or when it was killed).
        let outcome: String?
    }

    /// Every readable session, newest first.
    func list() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.compactMap { name in
            guard let folder = folder(named: name), let log = try? SessionLog.read(folder) else { return nil }
            return Entry(name: name, task: log.header.task, started: log.header.started, profile: log.header.profile,
                         model: "\(log.header.model.kind): \(log.header.model.name)", steps: log.steps.count, outcome: log.outcome?.outcome)
        }.sorted { $0.started > $1.started }
    }

    /// The HTML report of the session `name`; nil when there is no such session here.
    func report(named name: String) -> String? {
        guard let folder = folder(named: name), let log = try? SessionLog.read(folder) else { return nil }
        return SessionReport(log).html
    }

    /// `root/name` when `name` is a plain folder name and that folder is a real directory (not a link)
    /// whose resolved path is directly inside the resolved root.
    func folder(named name: String) -> URL? {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0"), !name.hasPrefix(".") else { return nil }
        let folder = root.appendingPathComponent(name)
        // attributesOfItem does not follow a link, so a link to a folder reads as a link here.
        guard (try? FileManager.default.attributesOfItem(atPath: folder.path))?[.type] as? FileAttributeType == .typeDirectory else { return nil }
        let realRoot = root.resolvingSymlinksInPath().standardizedFileURL.path
        let realFolder = folder.resolvingSymlinksInPath().standardizedFileURL.path
        guard realFolder == realRoot + "/" + name else { return nil }
        return folder
    }
}
