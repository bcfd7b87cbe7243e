import Desktop
import Foundation
import TestSupport
import TestSupportCore
import Testing

/// A `qwen-agent serve` started for a test on a free port, stopped with Ctrl-C (SIGINT) at the end.
final class ServeProcess {
    let process: ChildProcess
    let port: Int
    /// The URL it printed, with `?token=…` when it has a token.
    let printedURL: String
    let folder: URL

    var base: String { "http://127.0.0.1:\(port)" }

    init(_ arguments: [String], display: String? = nil, environment extra: [String: String] = [:]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)")
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["DISPLAY"] = display
        environment["XDG_DATA_HOME"] = folder.appendingPathComponent("data").path
        (process, printedURL) = try startServer(["serve", "--port", "0"] + arguments, in: folder, environment: environment,
                                                announcing: "qwen-agent serve: ")
        let afterColon = printedURL.split(separator: ":")[2]
        port = Int(afterColon.prefix { $0.isNumber })!
    }

    var stdout: String { (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: folder.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

    /// Ctrl-C; the exit status (nil if it did not stop within `timeout`).
    @discardableResult
    func stop(timeout: Double = 30) -> Int32? {
        process.signal(SIGINT)
        return process.wait(timeout: timeout)
    }

    /// The server's open file descriptors.
    var openDescriptors: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.pid)/fd").count) ?? -1 }

    deinit {
        if process.isRunning { stop(timeout: 10) }
        process.terminate()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Starts `qwen-agent ARGUMENTS` with its stdout and stderr in files of a new `folder`, and waits until
/// it prints a line starting with `announcement`; returns the process and the rest of that line (its URL).
func startServer(_ arguments: [String], in folder: URL, environment: [String: String], announcing announcement: String) throws
    -> (ChildProcess, String)
{
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
    let outFD = open(out.path, O_WRONLY | O_CREAT, 0o600), errFD = open(err.path, O_WRONLY | O_CREAT, 0o600)
    defer {
        close(outFD)
        close(errFD)
    }
    var environment = environment
    environment["XDG_CACHE_HOME"] = folder.appendingPathComponent("cache").path // prompt files of its own
    let process = try ChildProcess(TestProducts.url(of: "qwen-agent"), arguments: arguments, environment: environment,
                                   stdout: .descriptor(outFD), stderr: .descriptor(errFD))
    var line: Substring?
    try waitUntil("\(announcement)prints its URL", timeout: 60) {
        guard process.isRunning else {
            throw ServeFailure("qwen-agent \(arguments.first ?? "") exited: \((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
        }
        line = (try? String(contentsOf: out, encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix(announcement) }
        return line != nil
    }
    return (process, String(line!.dropFirst(announcement.count)))
}

struct ServeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What curl got: the status code, the body and the response headers.
struct CurlResult {
    let status: Int
    let body: String
    let headers: String

    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
}

/// Runs curl on `url` with `arguments` (e.g. `-X POST`, `-H …`, `--data …`).
func curl(_ url: String, _ arguments: [String] = [], timeout: Double = 60) throws -> CurlResult {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let body = folder.appendingPathComponent("body"), headers = folder.appendingPathComponent("headers")
    let out = folder.appendingPathComponent("out")
    let outFD = open(out.path, O_WRONLY | O_CREAT, 0o600)
    let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/curl"),
                                 arguments: ["-s", "-S", "--max-time", "\(Int(timeout))", "-o", body.path, "-D", headers.path, "-w", "%{http_code}"]
                                     + arguments + [url],
                                 environment: ProcessInfo.processInfo.environment, stdout: .descriptor(outFD))
    close(outFD)
    guard child.wait(timeout: timeout + 10) != nil else { throw ServeFailure("curl \(url) did not finish") }
    return CurlResult(status: Int((try? String(contentsOf: out, encoding: .utf8)) ?? "") ?? 0,
                      body: (try? String(contentsOf: body, encoding: .utf8)) ?? "", headers: (try? String(contentsOf: headers, encoding: .utf8)) ?? "")
}

/// A JSON body for curl: `--data @file` with the header.
func jsonArguments(_ object: Any, in folder: URL) throws -> [String] {
    let file = folder.appendingPathComponent("body-\(UUID().uuidString).json")
    try JSONSerialization.data(withJSONObject: object).write(to: file)
    return ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@\(file.path)"]
}

/// Runs a Python script of Tests/ServeClients with the tests' venv; its stdout, which the scripts write as JSON.
func runClient(_ script: String, _ arguments: [String], timeout: Double = 240) throws -> (status: Int32, stdout: String, stderr: String) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
    let outFD = open(out.path, O_WRONLY | O_CREAT, 0o600), errFD = open(err.path, O_WRONLY | O_CREAT, 0o600)
    let path = Repository.root.appendingPathComponent("Tests/ServeClients/\(script)").path
    let child = try ChildProcess(Repository.testPython, arguments: [path] + arguments, environment: ProcessInfo.processInfo.environment,
                                 stdout: .descriptor(outFD), stderr: .descriptor(errFD))
    close(outFD)
    close(errFD)
    let status = child.wait(timeout: timeout)
    if status == nil { child.terminate() }
    return (status ?? -1, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// The data lines of a Server-Sent Events body, decoded.
func serverSentEvents(_ body: String) -> [[String: Any]] {
    body.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("data: ") else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
    }
}
