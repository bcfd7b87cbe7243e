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

    /// Every readable session, newest first. Only the ends of each log are read (its header, and its
    /// last step and outcome): a long run's log is many megabytes.
    func list() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.compactMap { name in
            guard let folder = folder(named: name), let ends = LogEnds(folder.appendingPathComponent(SessionFormat.logName)),
                  let header = try? SessionFormat.decoder.decode(SessionHeader.self, from: ends.first), header.type == "session"
            else { return nil }
            let outcome = ends.last.lazy.compactMap { try? SessionFormat.decoder.decode(OutcomeRecord.self, from: $0) }.first
            let step = ends.last.lazy.compactMap { try? SessionFormat.decoder.decode(StepNumber.self, from: $0) }.first { $0.type == "step" }
            return Entry(name: name, task: header.task, started: header.started, profile: header.profile,
                         model: "\(header.model.kind): \(header.model.name)", steps: step?.step ?? 0, outcome: outcome?.outcome)
        }.sorted { $0.started > $1.started }
    }

    /// A step record's number (steps are numbered from 1, so the last one's is the count).
    private struct StepNumber: Decodable {
        let type: String
        let step: Int
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

/// The first line of a session log and its last two complete ones (the last step and the outcome),
/// read from the file's two ends.
struct LogEnds {
    let first: Data
    /// The last complete lines, the last one first.
    let last: [Data]

    /// How far from either end a line may reach: a step's line holds the model's whole reply.
    static let longestLine = 8 << 20

    init?(_ file: URL) {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return nil }
        defer { try? handle.close() }
        var chunk = 16 << 10
        var head = Data()
        while true {
            guard let more = try? handle.read(upToCount: chunk), !more.isEmpty else { break }
            head.append(more)
            if more.contains(0x0A) || head.count >= Self.longestLine { break }
            chunk *= 2
        }
        guard let newline = head.firstIndex(of: 0x0A) else { return nil }
        first = head[..<newline]
        guard let size = try? handle.seekToEnd() else { return nil }
        // Reads more of the end until it holds two complete lines (the piece at its start may be cut,
        // or be the header: it is never used).
        var span = UInt64(16 << 10)
        while true {
            let start = size > span ? size - span : 0
            guard (try? handle.seek(toOffset: start)) != nil, let tail = try? handle.read(upToCount: Int(size - start)) else { return nil }
            let lines = tail.split(separator: 0x0A, omittingEmptySubsequences: true).dropFirst()
            if lines.count >= 2 || start == 0 || span >= UInt64(Self.longestLine) {
                last = lines.suffix(2).reversed().map { Data($0) }
                return
            }
            span *= 4
        }
    }
}
