public import Foundation
import Glibc

/// A tmpfs mounted for the length of `body`: a small disk that fills, or a read-only one. Mounting needs
/// root, which scripts/test and CI have; anything else fails the test with the reason.
public struct TmpfsUnavailable: Error, CustomStringConvertible {
    public let description: String
}

public func withTmpfs<T>(size: String, readOnly: Bool = false, _ body: (URL) throws -> T) throws -> T {
    let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: mountPoint) }
    guard mount("tmpfs", mountPoint.path, "tmpfs", readOnly ? UInt(MS_RDONLY) : 0, "size=\(size),mode=0700") == 0 else {
        throw TmpfsUnavailable(description: "cannot mount a tmpfs (the fault tests run as root): \(String(cString: strerror(errno)))")
    }
    defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
    return try body(mountPoint)
}
