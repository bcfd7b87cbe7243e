public import Foundation
public import Imaging
import Glibc
public import Logging

/// An Xvfb server this process started and owns: a private X display for tests, demos and headless runs.
///
/// It listens on a Unix socket only (`-nolisten tcp`) and lets Xvfb pick a free display number
/// (`-displayfd`), so it never touches the user's display. It is stopped by ``stop()`` or `deinit`.
public final class VirtualDisplay {
    /// The display name, e.g. ":3".
    public let name: String
    public let size: Size
    private let process: Process
    private let logger: Logger

    /// Starts Xvfb with one screen of `size` and `depth` bits and waits until it accepts connections.
    public init(size: Size = Size(width: 1280, height: 800), depth: Int = 24, extraArguments: [String] = [],
                logger: Logger) throws(DesktopError) {
        guard let xvfb = VirtualDisplay.findExecutable("Xvfb") else {
            throw DesktopError(.process, "Xvfb is not installed (on Debian/Ubuntu: sudo apt-get install xvfb)")
        }
        let ready = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("qwen-agent-xvfb-\(getpid())-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = xvfb
        process.arguments = ["-displayfd", "1", "-nolisten", "tcp", "-noreset",
                             "-screen", "0", "\(size.width)x\(size.height)x\(depth)"] + extraArguments
        process.standardOutput = ready
        process.standardError = try? FileHandle(forWritingTo: errors)
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw DesktopError(.process, "cannot start \(xvfb.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: errors) }
        // Xvfb writes the display number it chose, then a newline, once it is ready.
        guard let number = VirtualDisplay.readLine(from: ready.fileHandleForReading.fileDescriptor, timeout: 20),
              let displayNumber = Int(number)
        else {
            process.terminate()
            process.waitUntilExit()
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let reason = log.split(separator: "\n").last { $0.contains("Fatal") || $0.contains("error") } ?? "no display number after 20 s"
            throw DesktopError(.process, "Xvfb did not start: \(reason)")
        }
        name = ":\(displayNumber)"
        self.size = size
        self.process = process
        self.logger = logger
        logger.debug("started Xvfb", metadata: ["display": "\(name)", "pid": "\(process.processIdentifier)"])
    }

    deinit { stop() }

    /// Stops the server (SIGTERM, then SIGKILL after two seconds) and waits for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Starts an X client on this display (its `DISPLAY` set, the rest of the environment inherited).
    public func launch(_ executable: URL, arguments: [String] = [], environment: [String: String] = [:],
                       output: FileHandle? = nil) throws(DesktopError) -> Process {
        let client = Process()
        client.executableURL = executable
        client.arguments = arguments
        client.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging(["DISPLAY": name]) { $1 }
        client.standardInput = FileHandle.nullDevice
        client.standardOutput = output ?? FileHandle.nullDevice
        client.standardError = output ?? FileHandle.nullDevice
        do {
            try client.run()
        } catch {
            throw DesktopError(.process, "cannot start \(executable.path) on \(name): \(error.localizedDescription)")
        }
        return client
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
