import Foundation
import TestSupport
import Testing

/// The binary copied away from the source checkout (as scripts/install does) still has its built-in
/// profiles and the demo's transcript; an `Agents/NAME.json` where it runs overrides a profile.
@Suite("qwen-agent copied out of the checkout", .serialized)
struct InstalledBinaryTests {
    /// A folder holding copies of the built binaries.
    final class Installed {
        let folder: URL

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("installed-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for product in ["qwen-agent", "qwen-agent-fixture"] {
                try Self.copyExecutable(TestProducts.url(of: product), to: folder.appendingPathComponent(product))
            }
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        /// Copies with a close-on-exec descriptor: a child another test spawns meanwhile must not
        /// inherit the copy open for writing, or running the copy fails with ETXTBSY for as long as
        /// that child lives.
        static func copyExecutable(_ source: URL, to destination: URL) throws {
            let bytes = try Data(contentsOf: source)
            let fd = open(destination.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
            guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
            defer { close(fd) }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else { throw CocoaError(.fileWriteUnknown) }
        }

        /// Runs the copy with `folder` as the working directory and without a display.
        func run(_ arguments: [String]) throws -> CLIRun {
            var environment = ProcessInfo.processInfo.environment
            environment["DISPLAY"] = nil
            environment["HOME"] = folder.path // no ~/.config/qwen-agent/agents of the user's
            return try runProgram(folder.appendingPathComponent("qwen-agent"), arguments, environment: environment, directory: folder)
        }
    }

    @Test func theCopyFindsItsBuiltInProfileAndAnAgentsFileOverridesIt() throws {
        let installed = try Installed()
        let builtIn = try installed.run(["schema", "--agent", "desktop-thinking"])
        #expect(builtIn.status == 0, "\(builtIn.stderr)")
        #expect(builtIn.stderr.hasPrefix("profile desktop-thinking (built in);"), "\(builtIn.stderr)")
        #expect(builtIn.stdout.contains("Think about what is on the screen") && builtIn.stdout.contains("The screen's resolution is 1000x1000."))

        let agents = installed.folder.appendingPathComponent("Agents")
        try FileManager.default.createDirectory(at: agents, withIntermediateDirectories: true)
        try ParseCommandTests.writeProfile(to: agents.appendingPathComponent("desktop-thinking.json")) { $0["system_prompt"] = "Overridden." }
        let overridden = try installed.run(["schema", "--agent", "desktop-thinking"])
        #expect(overridden.status == 0, "\(overridden.stderr)")
        #expect(overridden.stdout.hasPrefix("Overridden.\n\n# Tools\n"))
        #expect(overridden.stderr.contains("(\(agents.path)/desktop-thinking.json)") || overridden.stderr.contains("/Agents/desktop-thinking.json)"))
    }

    @Test func aBrokenOrMissingProfileIsOneLineAndStatus64() throws {
        let installed = try Installed()
        let agents = installed.folder.appendingPathComponent("Agents")
        try FileManager.default.createDirectory(at: agents, withIntermediateDirectories: true)
        try ParseCommandTests.writeProfile(to: agents.appendingPathComponent("typo.json")) { $0["model_shape"] = "thinkng" }
        let broken = try installed.run(["schema", "--agent", "typo"])
        #expect(broken.status == 64)
        #expect(broken.stderr.hasPrefix("qwen-agent: the agent profile ") && broken.stderr.hasSuffix(
            "typo.json: model_shape is 'thinkng'; it must be one of thinking, instruct; did you mean 'thinking'?\n"), "\(broken.stderr)")
        let missing = try installed.run(["schema", "--agent", "desktop-thinker"])
        #expect(missing.status == 64)
        #expect(missing.stderr.filter { $0 == "\n" }.count == 1 && missing.stderr.contains("did you mean 'desktop-thinking'?"), "\(missing.stderr)")
        // Each folder is named once (the copy runs in its own folder, which is also where it lives).
        #expect(missing.stderr.components(separatedBy: agents.path).count == 2, "\(missing.stderr)")
    }

    /// The demo replays its compiled-in transcript on a private Xvfb and logs the fixture app out.
    @Test func theCopyRunsTheDemo() throws {
        let installed = try Installed()
        let run = try installed.run(["demo", "-o", installed.folder.appendingPathComponent("demo").path])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("the app reports it logged out"), "\(run.stdout)")
    }
}
