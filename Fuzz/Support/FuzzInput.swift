import CFuzzer
public import Foundation

/// The bytes libFuzzer hands a target (it may pass a null pointer with a size of 0).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The input cut at every `separator` byte sequence, for targets that read several texts or files.
public func pieces(of bytes: [UInt8], separatedBy separator: [UInt8]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var start = 0
    var index = 0
    while index + separator.count <= bytes.count {
        if bytes[index..<index + separator.count].elementsEqual(separator) {
            result.append(Array(bytes[start..<index]))
            index += separator.count
            start = index
        } else {
            index += 1
        }
    }
    result.append(Array(bytes[start...]))
    return result
}

/// A folder of this process's own under `$TMPDIR` (scripts/fuzz points it at a RAM-backed work folder),
/// emptied before each input, for the readers that take a path.
public enum Scratch {
    public static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qwen-agent-fuzz-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Writes `files` (name → bytes) into the emptied scratch folder and returns it.
    public static func folder(with files: [(name: String, bytes: [UInt8])]) -> URL {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: folder.path)) ?? [] {
            try? manager.removeItem(at: folder.appendingPathComponent(name))
        }
        for file in files {
            let url = folder.appendingPathComponent(file.name)
            try? manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard manager.createFile(atPath: url.path, contents: Data(file.bytes)) else { fatalError("cannot write \(url.path)") }
        }
        return folder
    }
}

/// Runs libFuzzer with `target` as the function under test, with the command line's options and corpus
/// folders, and exits with its status.
public func runFuzzer(_ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}

/// The repository's `Fixtures` folder, for targets that need a real vocabulary or template.
public let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")
