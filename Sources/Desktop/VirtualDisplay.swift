public import Foundation
public import Imaging
import Glibc
public import Logging

/// An Xvfb server this process started and owns: a private X display for tests, demos and headless runs.
/// (Or an Xephyr server nested in one, whose screen RandR can resize: ``init(nestedIn:size:logger:)``.)
///
/// It listens on a Unix socket only (`-nolisten tcp`) and lets Xvfb pick a free display number
/// (`-displayfd`), so it never touches the user's display. It is stopped by ``stop()`` or `deinit`.
public final class VirtualDisplay {
    /// The display name, e.g. ":3".
    public let name: String
    public let size: Size
    private let server: ChildProcess
    private let logger: Logger

    /// Starts Xvfb with one screen of `size` and `depth` bits and waits until it accepts connections.
    public convenience init(size: Size = Size(width: 1280, height: 800), depth: Int = 24, extraArguments: [String] = [],
                            logger: Logger) throws(DesktopError) {
        guard let xvfb = VirtualDisplay.findExecutable("Xvfb") else {
            throw DesktopError(.process, "Xvfb is not installed (on Debian/Ubuntu: sudo apt-get install xvfb)")
        }
        try self.init(server: xvfb, arguments: ["-screen", "0", "\(size.width)x\(size.height)x\(depth)"] + extraArguments,
                      environment: ProcessInfo.processInfo.environment, size: size, logger: logger)
    }

    /// Starts Xephyr in a window of `host`, with a screen of `size` that `xrandr -s` can resize (Xvfb's cannot).
    public convenience init(nestedIn host: VirtualDisplay, size: Size, logger: Logger) throws(DesktopError) {
        guard let xephyr = VirtualDisplay.findExecutable("Xephyr") else {
            throw DesktopError(.process, "Xephyr is not installed (on Debian/Ubuntu: sudo apt-get install xserver-xephyr)")
        }
        try self.init(server: xephyr, arguments: ["-screen", "\(size.width)x\(size.height)", "-resizeable"],
                      environment: ProcessInfo.processInfo.environment.merging(["DISPLAY": host.name]) { $1 }, size: size, logger: logger)
    }

    private init(server executable: URL, arguments: [String], environment: [String: String], size: Size, logger: Logger) throws(DesktopError) {
        let program = executable.lastPathComponent
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("qwen-agent-\(program)-\(getpid())-\(UUID().uuidString).log")
        let errorsFD = open(errors.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        var ready: [Int32] = [0, 0]
        guard errorsFD >= 0, pipe(&ready) == 0, fcntl(ready[0], F_SETFD, FD_CLOEXEC) == 0,
              fcntl(ready[1], F_SETFD, FD_CLOEXEC) == 0
        else {
            throw DesktopError(.process, "cannot set up \(program)'s output: \(String(cString: strerror(errno)))")
        }
        defer {
            close(ready[0])
            close(errorsFD)
            unlink(errors.path)
        }
        let server: ChildProcess
        do {
            defer { close(ready[1]) }
            server = try ChildProcess(executable, arguments: ["-displayfd", "1", "-nolisten", "tcp", "-noreset"] + arguments,
                                      environment: environment, stdout: .descriptor(ready[1]), stderr: .descriptor(errorsFD))
        }
        // The server writes the display number it chose, then a newline, once it accepts connections.
        guard let number = VirtualDisplay.readLine(from: ready[0], timeout: 20), let displayNumber = Int(number) else {
            server.terminate()
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let reason = log.split(separator: "\n").last { $0.contains("Fatal") || $0.contains("rror") } ?? "no display number after 20 s"
            throw DesktopError(.process, "\(program) did not start: \(reason)")
        }
        name = ":\(displayNumber)"
        self.size = size
        self.server = server
        self.logger = logger
        logger.debug("started \(program)", metadata: ["display": "\(name)", "pid": "\(server.pid)"])
    }

    deinit { stop() }

    /// Stops the server (SIGTERM, then SIGKILL after two seconds) and waits for it to exit.
    public func stop() { server.terminate() }

    /// Starts an X client on this display (its `DISPLAY` set, the rest of the environment inherited).
    public func launch(_ executable: URL, arguments: [String] = [], environment: [String: String] = [:],
                       stdout: ChildProcess.Stream = .null, stderr: ChildProcess.Stream = .null) throws(DesktopError) -> ChildProcess {
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging(["DISPLAY": name]) { $1 }
        return try ChildProcess(executable, arguments: arguments, environment: merged, stdout: stdout, stderr: stderr)
    }

    /// The first executable called `name` on `$PATH`.
    public static func findExecutable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").lazy
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Reads one line from `fd`, waiting at most `timeout` seconds in total.
    private static func readLine(from fd: Int32, timeout: Double) -> String? {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, waitMs) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }
}
