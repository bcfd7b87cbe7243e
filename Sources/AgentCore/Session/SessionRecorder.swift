public import Foundation
import Glibc
public import Imaging

/// The on-disk session format, version 1 (documented in README, "Sessions").
///
/// A session is a directory (mode 0700) holding `session.jsonl` and `frames/*.png` (mode 0600: screenshots
/// can hold private data). The log is append-only JSON lines: one `session` header, one `step` record
/// per step, one `outcome` record at the end. A step's frames are written and fsynced before its log
/// line, and each line is written with one `write` and fsynced, so a run killed at any moment leaves
/// a log whose complete lines all refer to complete frames; at most the last line is torn.
public enum SessionFormat {
    public static let version = 1
    public static let logName = "session.jsonl"
    public static let framesFolder = "frames"

    /// Whether `path` names a file directly inside the frames folder: a session read from elsewhere must
    /// not make `show` or `replay` open files outside its own folder (`../`, absolute paths, hidden files).
    public static func isFramePath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0] == framesFolder && !parts[1].isEmpty && !parts[1].hasPrefix(".")
    }

    /// How records are written: snake_case keys, sorted, slashes unescaped.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

/// Writes one session, crash-safely.
public final class SessionRecorder {
    public let directory: URL
    private let log: Int32
    private let mask: SecretMask

    /// Creates the session directory (`directory`, or a new one under
    /// `$XDG_DATA_HOME/qwen-agent/sessions/`) and writes the header record. A folder that exists must
    /// be empty: one session holds one run, and a second run's header and frames would mix with the first's.
    public init(directory: URL? = nil, secrets: [String] = [], header: SessionHeader) throws(SessionError) {
        let folder = directory ?? Self.newDefaultDirectory()
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: folder.path), !contents.isEmpty {
            throw SessionError(.unwritable, "\(folder.path) is not empty; a session folder holds one run, so give a new folder (or an empty one)")
        }
        try Self.makePrivateDirectory(folder)
        // An empty folder the user made keeps the mode they gave it otherwise; screenshots are private.
        guard chmod(folder.path, 0o700) == 0 else { throw SessionError(.unwritable, "cannot make \(folder.path) private (mode 0700): \(String(cString: strerror(errno)))") }
        try Self.makePrivateDirectory(folder.appendingPathComponent(SessionFormat.framesFolder))
        let path = folder.appendingPathComponent(SessionFormat.logName).path
        // The log gets its name only once the header is in it: a run killed at any moment leaves either no
        // log (no session yet) or one that starts with its header.
        let partial = folder.appendingPathComponent(".\(SessionFormat.logName).partial").path
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SessionError(.unwritable, "cannot create \(partial): \(String(cString: strerror(errno)))") }
        self.directory = folder
        log = fd
        mask = SecretMask(secrets)
        try append(header)
        guard rename(partial, path) == 0 else { throw SessionError(.unwritable, "cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(log) }

    /// Writes a frame atomically (temporary file, fsync, rename) and returns its path inside the session.
    public func writeFrame(_ image: RGBImage, name: String) throws(SessionError) -> String {
        let relative = "\(SessionFormat.framesFolder)/\(name).png"
        let final = directory.appendingPathComponent(relative)
        let temporary = directory.appendingPathComponent(SessionFormat.framesFolder).appendingPathComponent(".\(name).png.partial")
        let bytes: [UInt8]
        do { bytes = try PNG.encode(image) } catch { throw SessionError(.unwritable, "cannot encode frame \(name): \(error.message)") }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SessionError(.unwritable, "cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
        var failure = bytes.withUnsafeBytes { Self.writeAll($0, to: fd) }
        if failure == nil, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == nil, rename(temporary.path, final.path) != 0 { failure = errno }
        if let failure {
            unlink(temporary.path)
            throw SessionError(.unwritable, "cannot write \(final.path): \(String(cString: strerror(failure)))")
        }
        return relative
    }

    /// Appends one record as one JSON line, with secrets masked in every string value, and fsyncs it.
    public func append(_ record: some Encodable) throws(SessionError) {
        guard var data = try? SessionFormat.encoder.encode(record) else { throw SessionError(.unwritable, "a session record could not be written as JSON") }
        data = mask.apply(to: data)
        data.append(0x0A)
        let end = lseek(log, 0, SEEK_END)
        var failure = data.withUnsafeBytes { Self.writeAll($0, to: log) }
        if failure == nil, fsync(log) != 0 { failure = errno }
        if let failure {
            // A full disk takes part of a line: cut it off, so the lines before stay the whole log.
            if end >= 0 { _ = ftruncate(log, end) }
            throw SessionError(.unwritable, "cannot append to \(directory.appendingPathComponent(SessionFormat.logName).path): \(String(cString: strerror(failure)))")
        }
    }

    /// Writes all of `bytes`, continuing after short writes; the `errno` that stopped it, or nil. A full
    /// disk shows as a short write first and `ENOSPC` on the next.
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }

    /// Now, as sessions write times: internet date-time with milliseconds.
    public static func timestamp(_ date: Date = Date()) -> String {
        ISO8601DateFormatter.withFractions.string(from: date)
    }

    /// `$XDG_DATA_HOME/qwen-agent/sessions` (`~/.local/share` when unset): where sessions go by default.
    public static var defaultSessionsFolder: URL {
        let environment = ProcessInfo.processInfo.environment
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        return data.appendingPathComponent("qwen-agent/sessions")
    }

    /// `defaultSessionsFolder/YYYYMMDD-HHMMSS-PID`.
    static func newDefaultDirectory() -> URL {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return defaultSessionsFolder.appendingPathComponent("\(formatter.string(from: Date()))-\(getpid())")
    }

    /// Creates `url` and any missing parents with mode 0700.
    private static func makePrivateDirectory(_ url: URL) throws(SessionError) {
        var missing: [URL] = []
        var current = url
        while !FileManager.default.fileExists(atPath: current.path) {
            missing.append(current)
            current.deleteLastPathComponent()
        }
        for folder in missing.reversed() where mkdir(folder.path, 0o700) != 0 && errno != EEXIST {
            throw SessionError(.unwritable, "cannot create \(folder.path): \(String(cString: strerror(errno)))")
        }
    }
}

/// A session that cannot be written or read.
public struct SessionError: Error, Sendable {
    public enum Kind: Sendable {
        /// The session on disk is missing, of another version, or damaged where it matters.
        case unreadable
        /// A folder, log line or picture could not be written.
        case unwritable
    }

    public let kind: Kind
    public let message: String
    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A session as read back: the header, the complete step records, the outcome if the run ended.
public struct SessionLog: Sendable {
    public let directory: URL
    public let header: SessionHeader
    public let steps: [StepRecord]
    public let outcome: OutcomeRecord?
    /// Lines that could not be read (a torn last line after a crash), said once each.
    public let warnings: [String]

    public static func read(_ directory: URL) throws(SessionError) -> SessionLog {
        let path = directory.appendingPathComponent(SessionFormat.logName)
        guard let data = try? Data(contentsOf: path) else { throw SessionError(.unreadable, "no session at \(directory.path) (\(path.lastPathComponent) is missing)") }
        return try read(data, directory: directory)
    }

    /// Reads the bytes of `session.jsonl` of the session in `directory`, already in memory (fuzzing
    /// reads through it without writing a file per input).
    package static func read(_ data: Data, directory: URL) throws(SessionError) -> SessionLog {
        let path = directory.appendingPathComponent(SessionFormat.logName)
        var header: SessionHeader?, steps: [StepRecord] = [], outcome: OutcomeRecord?, warnings: [String] = []
        let decoder = SessionFormat.decoder
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where !line.isEmpty {
            let number = index + 1
            guard let kind = try? decoder.decode(RecordKind.self, from: Data(line)) else {
                let last = index >= lines.count - 2
                warnings.append(last ? "line \(number) is incomplete (the run was cut off while writing it); it was ignored"
                                     : "line \(number) is not a JSON record; it was ignored")
                continue
            }
            do {
                switch kind.type {
                case "session":
                    let version = kind.version ?? 0
                    guard version == SessionFormat.version else {
                        throw SessionError(.unreadable, "\(path.path) is session format version \(version); this qwen-agent reads version \(SessionFormat.version)")
                    }
                    do {
                        header = try decoder.decode(SessionHeader.self, from: Data(line))
                    } catch {
                        throw SessionError(.unreadable, "\(path.path): the session header cannot be read (\(Self.describe(error)))")
                    }
                case "step": steps.append(try decoder.decode(StepRecord.self, from: Data(line)))
                case "outcome": outcome = try decoder.decode(OutcomeRecord.self, from: Data(line))
                default: warnings.append("line \(number) has an unknown record type; it was ignored")
                }
            } catch let error as SessionError {
                throw error
            } catch {
                warnings.append("line \(number) is a \(kind.type) record that cannot be read (\(Self.describe(error))); it was ignored")
            }
        }
        guard let header else { throw SessionError(.unreadable, "\(path.path) has no session header") }
        return SessionLog(directory: directory, header: header, steps: steps, outcome: outcome, warnings: warnings)
    }

    /// Just enough of a line to know what it is.
    private struct RecordKind: Decodable {
        let type: String
        let version: Int?
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "no '\(fileKey(key))'"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            "'\(context.codingPath.map(fileKey).joined(separator: "."))' is not what version 1 writes"
        case .dataCorrupted(let context)?:
            "'\(context.codingPath.map(fileKey).joined(separator: "."))' is not what version 1 writes: \(context.debugDescription)"
        default: "\(error)"
        }
    }

    /// A key as the file spells it: the decoder converts snake_case keys to the properties' camelCase.
    private static func fileKey(_ key: any CodingKey) -> String {
        key.stringValue.reduce(into: "") { spelled, character in
            if character.isUppercase { spelled += "_" + character.lowercased() } else { spelled.append(character) }
        }
    }
}

extension ISO8601DateFormatter {
    /// Session timestamps: internet date-time with milliseconds.
    package nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
