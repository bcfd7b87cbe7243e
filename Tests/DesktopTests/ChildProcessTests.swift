import Desktop
import Foundation
import Testing

@Suite("Child processes")
struct ChildProcessTests {
    static let environment = ["PATH": "/usr/bin:/bin"]

    /// A pipe opened without close-on-exec, as Foundation's `Process` opens its own: a child spawned
    /// meanwhile must not hold it open, or its reader waits for EOF as long as that child lives.
    @Test func aChildHoldsNoDescriptorButItsStandardStreams() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let child = try ChildProcess(URL(fileURLWithPath: "/bin/sleep"), arguments: ["30"], environment: Self.environment)
        defer { child.terminate() }
        close(ends[1])
        var reader = pollfd(fd: ends[0], events: Int16(POLLIN), revents: 0)
        try #require(poll(&reader, 1, 5_000) == 1, "the pipe is still open after 5 s")
        var byte: UInt8 = 0
        #expect(read(ends[0], &byte, 1) == 0, "EOF")
        #expect(child.isRunning)
    }

    @Test func itRunsInTheDirectoryItIsGivenAndReportsItsExitStatus() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let child = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "pwd > where; exit 7"],
                                     environment: Self.environment, directory: folder)
        #expect(child.wait(timeout: 10) == 7)
        let written = try String(contentsOf: folder.appendingPathComponent("where"), encoding: .utf8)
        #expect(written == folder.resolvingSymlinksInPath().path + "\n")
    }
}
