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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
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
        /// The engine's C kernels, chosen at run time: element-wise loops (AVX2 + FMA), BF16 and int8 matrix products and decode attention (AVX-512).
        .target(name: "CKernels"),

        // MARK: Libraries
        /// Durations in seconds, milliseconds and nanoseconds, computed once for every target.
        .target(name: "Units", swiftSettings: strictSettings),
        /// RGB images, geometry, pixel-format conversion and PNG encode/decode.
        .target(name: "Imaging", dependencies: ["CPNG", "CPixels"], swiftSettings: strictSettings),
        /// The X11 session: display connection, monitors, screen capture, XTest input, virtual displays.
        .target(
            name: "Desktop",
            dependencies: ["CX11", "Imaging", "Units", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),

        /// One protocol for a vision-language model, and its backends (scripted, OpenAI-compatible HTTP).
        .target(
            name: "Models",
            dependencies: [
                "Imaging", "Qwen3VL", "Units", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),
        /// The embedded Qwen3-VL engine: weights, tokenizer, chat template, decoder. Pure computation.
        .target(name: "Qwen3VL", dependencies: ["CKernels", "COpenBLAS", "Imaging"], swiftSettings: strictSettings),
        /// The action table, the step parser, the coordinate contract and the executor.
        .target(name: "Agent", dependencies: ["Desktop", "Imaging", "Models", "Qwen3VL", "Units", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strictSettings),

        // MARK: Executables
        /// The command-line tool; thin.
        .executableTarget(
            name: "qwen-agent",
            dependencies: [
                "Agent", "Desktop", "Imaging", "Models", "Qwen3VL", "Units",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings),
        /// A small X11 app with known colours, buttons and a text field that logs every event as JSON.
        .executableTarget(
            name: "qwen-agent-fixture", dependencies: ["CX11"], path: "Fixtures/FixtureApp",
            swiftSettings: strictSettings),

        // MARK: Tests
        /// Virtual displays, the fixture app and its event log, for the tests that touch X.
        .target(
            name: "TestSupport",
            dependencies: [
                "Desktop", "Imaging", "Models", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport", exclude: ["fake_openai_server.py"], swiftSettings: strictSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "COpenBLAS", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "DesktopTests", dependencies: ["Desktop", "Imaging", "TestSupport", "qwen-agent-fixture"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "AgentTests", dependencies: ["Agent", "Desktop", "Imaging", "Qwen3VL", "TestSupport", "Units", "qwen-agent-fixture"],
            swiftSettings: strictSettings),
        .testTarget(name: "Qwen3VLTests", dependencies: ["Qwen3VL"], swiftSettings: strictSettings),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "Imaging", "Qwen3VL", "TestSupport", "Units", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),
        .testTarget(
            name: "CLITests", dependencies: ["qwen-agent", "qwen-agent-fixture", "TestSupport", "Desktop", "Imaging"],
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
        .executableTarget(name: "qwen-agent-parse-bench", dependencies: ["Agent"], path: "Benchmarks/Parse", swiftSettings: strictSettings))
    package.targets.append(
        .executableTarget(
            name: "qwen-agent-engine-bench", dependencies: ["Agent", "Imaging", "Qwen3VL"], path: "Benchmarks/Engine",
            exclude: [
                "make_checkpoint.py", "processor_reference.py", "report.py", "screenshot-1280x720.png", "screenshot-1920x1080.png",
                "transformers_reference.py", "llamacpp_reference.py",
            ], swiftSettings: strictSettings))
}
