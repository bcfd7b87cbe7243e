import Desktop
import Foundation

/// Checks made before the slow or irreversible part of a command, so that a wrong path fails first
/// with its own words instead of Foundation's after the model has answered.
enum FileChecks {
    /// Throws (status 73) unless `path` can be written: its folder exists and is writable, and the
    /// path is not a folder or a read-only file.
    static func requireWritable(_ path: String) throws(Failure) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        let problem: String? =
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
                isFolder.boolValue ? "it is a folder" : (access(path, W_OK) == 0 ? nil : "the file is read-only")
            } else if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
                "there is no folder \(folder)"
            } else {
                access(folder, W_OK) == 0 ? nil : "the folder \(folder) is not writable"
            }
        if let problem { throw Failure("cannot write \(path): \(problem)", status: ExitStatus.cannotCreate) }
    }

    /// Throws (status 65) unless `path` is a file this process can read.
    static func requireReadableFile(_ path: String, _ what: String) throws(Failure) {
        var isFolder: ObjCBool = false
        let problem: String? =
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
                "there is no such file"
            } else if isFolder.boolValue {
                "it is a folder, not a file"
            } else {
                access(path, R_OK) == 0 ? nil : "it is not readable (permissions)"
            }
        if let problem { throw Failure("cannot read \(what) \(path): \(problem)", status: ExitStatus.dataError) }
    }

    /// `folder/name`, or `folder/name-2`, `-3`, … : the first that does not exist yet.
    static func unusedFolder(named name: String, in folder: URL) -> URL {
        var candidate = folder.appendingPathComponent(name)
        var number = 1
        while FileManager.default.fileExists(atPath: candidate.path) {
            number += 1
            candidate = folder.appendingPathComponent("\(name)-\(number)")
        }
        return candidate
    }
}
