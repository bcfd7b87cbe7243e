// swift-tools-version: 6.1
import PackageDescription

/// Upcoming-feature flags every Swift target builds with.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "qwen-agent",
    products: [
        .executable(name: "qwen-agent", targets: ["qwen-agent"]),
        .executable(name: "qwen-agent-fixture", targets: ["qwen-agent-fixture"]),
        .library(name: "Desktop", targets: ["Desktop"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Keys", targets: ["Keys"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // MARK: C system libraries (headers and link flags come from pkg-config)
        .systemLibrary(
            name: "CX11", pkgConfig: "x11 xext xtst xrandr",
            providers: [.apt(["libx11-dev", "libxext-dev", "libxtst-dev", "libxrandr-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        /// Pixel-conversion kernels that need CPU instructions Swift cannot emit on baseline x86-64.
        .target(name: "CPixels"),
        /// The `posix_spawn` file actions glibc keeps behind `_GNU_SOURCE`: close inherited descriptors, change directory.
        .target(name: "CSpawn"),
        /// The engine's C kernels, chosen at run time: element-wise loops (AVX2 + FMA), BF16 and int8 matrix products and decode attention (AVX-512).
        .target(name: "CKernels"),

        // MARK: Libraries
        /// Durations in seconds, milliseconds and nanoseconds, computed once for every target.
        .target(name: "Units", swiftSettings: strictSettings),
        /// RGB images, geometry, pixel-format conversion and PNG encode/decode.
        .target(name: "Imaging", dependencies: ["CPNG", "CPixels"], swiftSettings: strictSettings),
        /// Key names as models and people write them, key chords and X keysyms, resolved without an X connection.
        .target(name: "Keys", swiftSettings: strictSettings),
        /// The X11 session: display connection, monitors, screen capture, XTest input, virtual displays.
        .target(
            name: "Desktop",
            dependencies: ["CX11", "CSpawn", "Imaging", "Keys", "Units", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),

        /// One protocol for a vision-language model, and its backends that need no engine (scripted, OpenAI-compatible HTTP).
        .target(
            name: "Models",
            dependencies: [
                "Imaging", "Qwen3VLPrompt", "Units", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),
        /// Qwen3-VL's input side: config files, tokenizer, chat template, image pads and image processor. Pure computation, no BLAS.
        .target(name: "Qwen3VLPrompt", dependencies: ["Imaging"], swiftSettings: strictSettings),
        /// The embedded Qwen3-VL engine: weights, vision tower, text decoder, generation, on OpenBLAS and the C kernels.
        .target(name: "Qwen3VL", dependencies: ["CKernels", "COpenBLAS", "Imaging", "Qwen3VLPrompt"], swiftSettings: strictSettings),
        /// The embedded engine behind the model protocol.
        .target(
            name: "EmbeddedModel",
            dependencies: ["Imaging", "Models", "Qwen3VL", "Qwen3VLPrompt", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),
        /// The agent's pure parts: action table, step parser, coordinate mapping, plan report, screen comparison, session records and reports. No X11, no BLAS.
        .target(
            name: "AgentCore", dependencies: ["Imaging", "Keys", "Models", "Qwen3VLPrompt", "Units"],
            swiftSettings: strictSettings),
        /// The agent on a desktop: the loop, the executor, profiles and routing, replay and recorded demonstrations.
        .target(
            name: "Agent",
            dependencies: ["AgentCore", "Desktop", "Imaging", "Keys", "Models", "Qwen3VLPrompt", "Units", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),

        /// What the HTTP servers (`serve`, `mcp --http`) share: who may connect (loopback, token, Origin) and stopping on SIGINT/SIGTERM.
        .target(
            name: "ServerSupport", dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: strictSettings),

        /// `qwen-agent serve`: the web UI, the task and session API, and the OpenAI-compatible endpoint, on Hummingbird.
        .target(
            name: "Serve",
            dependencies: [
                "Agent", "AgentCore", "Desktop", "Imaging", "Models", "ServerSupport", "Units", .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            exclude: ["Web"], swiftSettings: strictSettings),

        /// The desktop and the agent as a Model Context Protocol server: screenshot and input tools, parse, run_task.
        .target(
            name: "MCPServer",
            dependencies: [
                "Agent", "AgentCore", "Desktop", "Imaging", "Keys", "Models", "ServerSupport", "Units", .product(name: "Logging", package: "swift-log"),
                .product(name: "MCP", package: "swift-sdk"), .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSettings),

        // MARK: Executables
        /// The command-line tool; thin.
        .executableTarget(
            name: "qwen-agent",
            dependencies: [
                "Agent", "AgentCore", "Desktop", "EmbeddedModel", "Imaging", "Keys", "MCPServer", "Models", "Qwen3VL", "Qwen3VLPrompt", "Serve", "ServerSupport", "Units",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings),
        /// A small X11 app with known colours, buttons and a text field that logs every event as JSON.
        .executableTarget(
            name: "qwen-agent-fixture", dependencies: ["CX11"], path: "Fixtures/FixtureApp",
            swiftSettings: strictSettings),

        // MARK: Tests
        /// Where the checkout's fixtures are, seeded randomness and a thread of its own: test helpers that need neither X nor BLAS.
        .target(name: "TestSupportCore", path: "Tests/TestSupportCore", swiftSettings: strictSettings),
        /// Virtual displays, the fixture app and its event log, for the tests that touch X.
        .target(
            name: "TestSupport",
            dependencies: [
                "CX11", "Desktop", "Imaging", "Models", "TestSupportCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport", exclude: ["fake_openai_server.py"], swiftSettings: strictSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "COpenBLAS", "TestSupport", "TestSupportCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "DesktopTests", dependencies: ["CX11", "Desktop", "Imaging", "Keys", "TestSupport", "TestSupportCore", "qwen-agent-fixture"],
            swiftSettings: strictSettings),
        /// The pure layers' tests (keys, parser, coordinates, session records, the target graph itself): no X, no BLAS.
        .testTarget(
            name: "AgentCoreTests", dependencies: ["AgentCore", "Imaging", "Keys", "Models", "Qwen3VLPrompt", "TestSupportCore", "Units"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "AgentCore", "Desktop", "EmbeddedModel", "Imaging", "Keys", "Models", "Qwen3VLPrompt", "TestSupport", "TestSupportCore", "Units",
                           "qwen-agent-fixture"],
            swiftSettings: strictSettings),
        .testTarget(name: "Qwen3VLTests", dependencies: ["CKernels", "Qwen3VL", "Qwen3VLPrompt", "TestSupportCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["EmbeddedModel", "Models", "Imaging", "Qwen3VL", "Qwen3VLPrompt", "TestSupport", "TestSupportCore", "Units",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),
        .testTarget(name: "ServeTests", dependencies: ["Serve", "TestSupport", "TestSupportCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "CLITests", dependencies: ["qwen-agent", "qwen-agent-fixture", "Agent", "AgentCore", "TestSupport", "TestSupportCore", "Desktop", "Imaging", "Keys"],
            swiftSettings: strictSettings),
    ]
)

// Benchmarks stay out of the default build and CI; `scripts/benchmark` builds and runs them (see BENCHMARKS.md).
if Context.environment["QWEN_AGENT_BENCHMARKS"] != nil {
    package.targets.append(
        .executableTarget(
            name: "qwen-agent-bench", dependencies: ["Desktop", "Imaging", "CX11"], path: "Benchmarks/Capture",
            swiftSettings: strictSettings))
    package.targets.append(
        .executableTarget(name: "qwen-agent-parse-bench", dependencies: ["AgentCore"], path: "Benchmarks/Parse", swiftSettings: strictSettings))
    package.targets.append(
        .executableTarget(
            name: "qwen-agent-engine-bench", dependencies: ["Agent", "AgentCore", "Imaging", "Models", "Qwen3VL", "Qwen3VLPrompt"], path: "Benchmarks/Engine",
            exclude: [
                "make_checkpoint.py", "processor_reference.py", "report.py", "screenshot-1280x720.png", "screenshot-1920x1080.png",
                "transformers_reference.py", "llamacpp_reference.py",
            ], swiftSettings: strictSettings))
}

// Fuzz targets stay out of the default build and CI; `scripts/fuzz` builds them with libFuzzer and
// AddressSanitizer (see RELIABILITY.md). Every Swift target of this package is instrumented, and built
// with testing enabled so a fuzz target can reach a reader that is internal to its module.
if Context.environment["QWEN_AGENT_FUZZ"] != nil {
    let instrumented: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-enable-testing"])]
    for target in package.targets where target.type == .regular || target.type == .executable {
        target.swiftSettings = (target.swiftSettings ?? []) + instrumented
    }
    /// libFuzzer's driver entry point, declared for Swift.
    package.targets.append(.target(name: "CFuzzer", path: "Fuzz/CFuzzer"))
    /// What the fuzz targets share: the input's bytes and pieces, a scratch folder for readers of files, the driver call.
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Fuzz/Support", swiftSettings: strictSettings + instrumented))
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("Parser", ["AgentCore", "Imaging"]), ("LenientJSON", ["AgentCore"]), ("ChatReply", ["Models", "AgentCore", "Imaging"]),
        ("ServerStream", ["Models"]), ("Safetensors", ["Qwen3VL", "Qwen3VLPrompt"]), ("ModelConfig", ["Qwen3VLPrompt"]),
        ("Tokenizer", ["Qwen3VLPrompt"]), ("TokenizerFiles", ["Qwen3VLPrompt"]), ("ChatTemplate", ["Qwen3VLPrompt"]), ("PNG", ["Imaging"]),
        ("SessionLine", ["AgentCore"]), ("SessionFolder", ["Agent", "AgentCore"]), ("Profile", ["Agent", "AgentCore", "Imaging"]),
    ]
    /// One executable per input read from outside (see RELIABILITY.md for what each checks).
    for (name, dependencies) in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(name)", dependencies: dependencies + ["FuzzSupport"], path: "Fuzz/\(name)",
                swiftSettings: strictSettings + instrumented,
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])]))
    }
}
