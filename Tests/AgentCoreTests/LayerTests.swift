import Foundation
import TestSupportCore
import Testing

/// The layering the package promises (Package.swift, DESIGN.md "Modules"): the pure targets build
/// without X11 and without OpenBLAS or the engine's C kernels. Read from the manifest itself, so a
/// dependency added to a pure target fails here, not on a machine without those libraries.
@Suite("Pure targets reach neither X11 nor BLAS")
struct LayerTests {
    /// Target name → the names of the package's own targets it depends on (products of other packages left out).
    static func targetGraph() async throws -> [String: [String]] {
        let manifest = try await Self.manifest()
        let names = Set(manifest.targets.map(\.name))
        return Dictionary(uniqueKeysWithValues: manifest.targets.map { target in
            (target.name, target.dependencies.compactMap { $0.byName?.first ?? $0.target?.first }.compactMap { $0 }.filter(names.contains))
        })
    }

    static func manifest() async throws -> Manifest {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("qwen-agent-manifest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let json = try await onOwnThread { () throws -> Data in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            // A scratch path of its own, so a build or test run holding `.build` does not block this.
            process.arguments = ["swift", "package", "--package-path", Repository.root.path, "--scratch-path", scratch.path, "dump-package"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }
        return try JSONDecoder().decode(Manifest.self, from: json)
    }

    /// Every target `name` depends on, directly or not.
    static func reachable(from name: String, in graph: [String: [String]]) -> Set<String> {
        var seen: Set<String> = [], pending = graph[name] ?? []
        while let next = pending.popLast() {
            if seen.insert(next).inserted { pending += graph[next] ?? [] }
        }
        return seen
    }

    static let x11AndBLAS: Set = ["CX11", "Desktop", "COpenBLAS", "CKernels", "Qwen3VL"]

    @Test func pureTargetsAndTheirTestsNeedNoX11AndNoBLAS() async throws {
        let graph = try await Self.targetGraph()
        for pure in ["Keys", "Imaging", "Units", "Qwen3VLPrompt", "Models", "AgentCore", "TestSupportCore", "AgentCoreTests"] {
            #expect(graph[pure] != nil, "\(pure) is not a target")
            let reached = Self.reachable(from: pure, in: graph)
            #expect(reached.isDisjoint(with: Self.x11AndBLAS), "\(pure) reaches \(reached.intersection(Self.x11AndBLAS).sorted())")
        }
        // The check can fail: the layers above do reach them.
        #expect(Self.reachable(from: "Agent", in: graph).contains("CX11"))
        #expect(Self.reachable(from: "EmbeddedModel", in: graph).isSuperset(of: ["COpenBLAS", "CKernels"]))
    }

    /// Lower layers never reach the ones built on them.
    @Test(arguments: [("Qwen3VLPrompt", "Qwen3VL"), ("Models", "EmbeddedModel"), ("Models", "AgentCore"), ("AgentCore", "Agent"),
                      ("Keys", "Desktop"), ("Desktop", "Agent")])
    func dependenciesPointOneWay(lower: String, upper: String) async throws {
        let graph = try await Self.targetGraph()
        #expect(Self.reachable(from: upper, in: graph).contains(lower), "\(upper) does not build on \(lower)")
        #expect(!Self.reachable(from: lower, in: graph).contains(upper), "\(lower) reaches \(upper)")
    }

    /// `swift build -c release` (what `scripts/qwen-agent` and `scripts/install` run) compiles every
    /// non-test target without testability, so `@testable import` there breaks only the release build,
    /// which the test run never makes.
    @Test func onlyTestTargetsUseTestableImports() async throws {
        let manifest = try await Self.manifest()
        var checked = 0
        for target in manifest.targets where target.type != "test" && target.type != "system" {
            let folder = Repository.root.appendingPathComponent(target.path ?? "Sources/\(target.name)")
            let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
            for file in files {
                checked += 1
                let text = try String(contentsOf: file, encoding: .utf8)
                #expect(!text.contains("@testable"), "\(file.path.dropFirst(Repository.root.path.count + 1)) uses @testable in \(target.type) target \(target.name)")
            }
        }
        #expect(checked > 100, "the sources were found (\(checked) files)")
        #expect(manifest.targets.contains { $0.name == "TestSupport" && $0.type == "regular" }, "TestSupport is a regular target, so it is checked")
    }

    /// The parts of `swift package dump-package` read here.
    struct Manifest: Decodable {
        struct Target: Decodable {
            struct Dependency: Decodable {
                let byName: [String?]?
                let target: [String?]?
            }
            let name: String
            let type: String
            let path: String?
            let dependencies: [Dependency]
        }
        let targets: [Target]
    }
}
