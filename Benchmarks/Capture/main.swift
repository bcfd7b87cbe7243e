// qwen-agent-bench: capture and input latency on a real X display.
//
//     QWEN_AGENT_BENCHMARKS=1 swift build -c release --product qwen-agent-bench --scratch-path .build-bench
//     .build-bench/release/qwen-agent-bench [--display :5] [--json out.json]
//
// `scripts/benchmark` runs it on a fresh 1920x1080x24 Xvfb next to the python `mss` reference and
// writes BENCHMARKS.md. Every benchmark runs untimed warm-up calls first, then N timed calls, and
// reports the median, p10 and p90 in milliseconds.
import CX11
import Desktop
import Foundation
import Imaging
import Logging

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Options {
    static let allBenchmarks = [
        "shm-raw", "shm-copy", "shm-rgb", "getimage-raw", "getimage-rgb", "convert", "png", "click-latency", "click-call",
    ]
    static let usage = """
        usage: qwen-agent-bench [--display NAME] [--iterations N] [--png-iterations N] [--click-iterations N]
                                [--warmup N] [--only NAME,NAME...] [--json FILE] [--no-samples]

        Measures, on $DISPLAY (or --display):
          shm-raw        full-screen MIT-SHM capture, raw server pixels (withRawCapture, no conversion)
          shm-copy       shm-raw plus a copy of the pixels into a new [UInt8] (what mss's grab() returns)
          shm-rgb        full-screen MIT-SHM capture converted to RGBImage (capture(), the real API)
          getimage-raw   the same as shm-raw through XGetImage
          getimage-rgb   the same as shm-rgb through XGetImage
          convert        RGBImage(converting:) alone, on one captured frame (no X traffic)
          png            capture() + PNG.encode (png-encode: the encode part alone)
          click-latency  InputController.press(.left) until the ButtonPress reaches a second X client
                         (press-call: the press() call alone)
          click-call     one InputController.click(.left, at:) call, default timing (12 ms hold)

        Defaults: --iterations 200 (capture, convert), --png-iterations 50, --click-iterations 200, --warmup 10.
        --json FILE writes every number (and the raw samples unless --no-samples) for scripts/benchmark.
        """

    var display: String?
    var iterations = 200
    var pngIterations = 50
    var clickIterations = 200
    var warmup = 10
    var only = Set(allBenchmarks)
    var jsonPath: String?
    var samples = true

    init(parsing arguments: [String]) throws(BenchError) {
        var rest = arguments[...]
        func value(_ flag: String) throws(BenchError) -> String {
            guard let value = rest.popFirst() else { throw BenchError("missing value for \(flag)") }
            return value
        }
        func count(_ flag: String, minimum: Int) throws(BenchError) -> Int {
            let text = try value(flag)
            guard let number = Int(text), number >= minimum else { throw BenchError("invalid value '\(text)' for \(flag)") }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--display": display = try value(flag)
            case "--iterations": iterations = try count(flag, minimum: 1)
            case "--png-iterations": pngIterations = try count(flag, minimum: 1)
            case "--click-iterations": clickIterations = try count(flag, minimum: 1)
            case "--warmup": warmup = try count(flag, minimum: 0)
            case "--json": jsonPath = try value(flag)
            case "--no-samples": samples = false
            case "--only":
                let names = try value(flag).split(separator: ",").map(String.init)
                if let unknown = names.first(where: { !Options.allBenchmarks.contains($0) }) {
                    throw BenchError("unknown benchmark '\(unknown)' (one of \(Options.allBenchmarks.joined(separator: ", ")))")
                }
                only = Set(names)
            case "--help", "-h":
                print(Options.usage)
                exit(0)
            default: throw BenchError("unknown option '\(flag)'\n\(Options.usage)")
            }
        }
    }
}

/// One row of the results table.
struct Row {
    let name: String
    let summary: Summary
    let note: String
}

func run(_ options: Options) throws -> Int32 {
    var logger = Logger(label: "qwen-agent-bench")
    logger.logLevel = .warning
    let display = try Display(name: options.display, logger: logger)
    let screen = try display.screenBounds()
    var rows: [Row] = []
    var facts: [String: Any] = [:]

    func record(_ name: String, _ samples: [Double], note: String = "") {
        let row = Row(name: name, summary: Summary(samples), note: note)
        rows.append(row)
        FileHandle.standardError.write(Data(
            "  \(name): median \(format(row.summary.median)) ms (\(samples.count) runs)\n".utf8))
    }
    func wants(_ name: String) -> Bool { options.only.contains(name) }

    FileHandle.standardError.write(Data("qwen-agent-bench: display \(display.name), screen \(screen.size)\n".utf8))

    // MARK: capture
    for method in ScreenCapturer.Method.allCases {
        let prefix = method == .sharedMemory ? "shm" : "getimage"
        guard wants("\(prefix)-raw") || wants("\(prefix)-rgb") else { continue }
        let capturer = ScreenCapturer(display: display, method: method)
        var layout: PixelLayout?
        try capturer.withRawCapture(nil) { _, _, _, pixelLayout in layout = pixelLayout }
        guard capturer.method == method else {
            throw BenchError("asked for \(method.rawValue) capture but the capturer fell back to \(capturer.method.rawValue)")
        }
        if let layout {
            facts["\(prefix)_layout"] =
                "\(layout.bitsPerPixel) bpp, \(layout.bytesPerLine) bytes/line, masks "
                + "\(String(layout.redMask, radix: 16))/\(String(layout.greenMask, radix: 16))/\(String(layout.blueMask, radix: 16))"
        }
        if wants("\(prefix)-raw") {
            record("\(prefix)-raw", try measure(warmup: options.warmup, iterations: options.iterations) {
                try capturer.withRawCapture(nil) { _, _, _, _ in }
            }, note: "\(method.rawValue), raw pixels")
        }
        if method == .sharedMemory, wants("shm-copy") {
            record("shm-copy", try measure(warmup: options.warmup, iterations: options.iterations) {
                let copy = try capturer.withRawCapture(nil) { data, _, _, _ in [UInt8](data) }
                precondition(!copy.isEmpty)
            }, note: "MIT-SHM, raw pixels copied to [UInt8]")
        }
        if wants("\(prefix)-rgb") {
            record("\(prefix)-rgb", try measure(warmup: options.warmup, iterations: options.iterations) {
                _ = try capturer.capture()
            }, note: "\(method.rawValue), to RGBImage")
        }
    }

    // MARK: conversion alone
    if wants("convert") {
        let capturer = ScreenCapturer(display: display)
        var frame: [UInt8] = []
        var shape = (width: 0, height: 0)
        var frameLayout: PixelLayout?
        try capturer.withRawCapture(nil) { data, width, height, layout in
            frame = Array(data)
            shape = (width, height)
            frameLayout = layout
        }
        guard let frameLayout else { throw BenchError("no frame captured for the convert benchmark") }
        let samples = try frame.withUnsafeBytes { data in
            try measure(warmup: options.warmup, iterations: options.iterations) {
                _ = try RGBImage(converting: data, width: shape.width, height: shape.height, layout: frameLayout)
            }
        }
        record("convert", samples, note: "RGBImage(converting:) only")
    }

    // MARK: capture to PNG
    if wants("png") {
        let capturer = ScreenCapturer(display: display)
        let clock = ContinuousClock()
        var total: [Double] = [], encode: [Double] = []
        var bytes = 0
        for index in 0..<(options.pngIterations + min(options.warmup, 5)) {
            let start = clock.now
            let image = try capturer.capture()
            let captured = clock.now
            let png = try PNG.encode(image)
            let end = clock.now
            bytes = png.count
            guard index >= min(options.warmup, 5) else { continue }
            total.append(milliseconds(end - start))
            encode.append(milliseconds(end - captured))
        }
        facts["png_bytes"] = bytes
        record("png", total, note: "capture() + PNG.encode, \(bytes) bytes")
        record("png-encode", encode, note: "PNG.encode alone")
    }

    // MARK: input
    if wants("click-latency") || wants("click-call") {
        let area = Rect(x: screen.width - 320, y: screen.height - 240, width: 300, height: 220)
        let probe = try ClickProbe(displayName: display.name, area: area)
        let input = try InputController(display: display)
        let point = area.center
        try input.move(to: point)
        probe.drain()
        let clock = ContinuousClock()
        if wants("click-latency") {
            var latency: [Double] = [], call: [Double] = []
            for index in 0..<(options.clickIterations + options.warmup) {
                let start = clock.now
                try input.press(.left)
                let returned = clock.now
                guard probe.waitFor(ButtonPress, timeoutMilliseconds: 2_000) != nil else {
                    throw BenchError("the probe window got no ButtonPress within 2 s")
                }
                let arrived = clock.now
                try input.release(.left)
                guard probe.waitFor(ButtonRelease, timeoutMilliseconds: 2_000) != nil else {
                    throw BenchError("the probe window got no ButtonRelease within 2 s")
                }
                guard index >= options.warmup else { continue }
                latency.append(milliseconds(arrived - start))
                call.append(milliseconds(returned - start))
            }
            record("click-latency", latency, note: "press() -> ButtonPress at a 2nd client")
            record("press-call", call, note: "press() call alone")
        }
        if wants("click-call") {
            var samples: [Double] = []
            let hold = milliseconds(input.timing.hold)
            for index in 0..<(options.clickIterations + options.warmup) {
                let start = clock.now
                try input.click(.left, at: point)
                let end = clock.now
                guard probe.waitFor(ButtonRelease, timeoutMilliseconds: 2_000) != nil else {
                    throw BenchError("the probe window got no ButtonRelease for click \(index) within 2 s")
                }
                if index >= options.warmup { samples.append(milliseconds(end - start)) }
            }
            record("click-call", samples, note: "click(.left, at:) incl. \(format(hold)) ms hold")
        }
    }

    // MARK: report
    print("qwen-agent-bench on display \(display.name), screen \(screen.size), \(ProcessInfo.processInfo.activeProcessorCount) cores")
    let header = pad("benchmark", 15) + lpad("runs", 6) + lpad("median", 10) + lpad("p10", 10) + lpad("p90", 10) + "  (ms)"
    print(header)
    for row in rows {
        let s = row.summary
        print(pad(row.name, 15) + lpad("\(s.samples.count)", 6) + lpad(format(s.median), 10) + lpad(format(s.p10), 10)
              + lpad(format(s.p90), 10) + "  " + row.note)
    }
    if let path = options.jsonPath {
        var results: [String: Any] = [:]
        for row in rows {
            let s = row.summary
            var entry: [String: Any] = [
                "runs": s.samples.count, "median_ms": s.median, "p10_ms": s.p10, "p90_ms": s.p90,
                "min_ms": s.minimum, "mean_ms": s.mean, "note": row.note,
            ]
            if options.samples { entry["samples_ms"] = s.samples }
            results[row.name] = entry
        }
        let document: [String: Any] = [
            "tool": "qwen-agent-bench", "display": display.name, "width": screen.width, "height": screen.height,
            "facts": facts, "results": results, "order": rows.map(\.name),
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }
    return 0
}

func format(_ ms: Double) -> String { String(format: "%.3f", ms) }
func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
func lpad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

do {
    let options = try Options(parsing: Array(CommandLine.arguments.dropFirst()))
    exit(try run(options))
} catch let error as BenchError {
    FileHandle.standardError.write(Data("qwen-agent-bench: \(error)\n".utf8))
    exit(64)
} catch let error as DesktopError {
    FileHandle.standardError.write(Data("qwen-agent-bench: \(error.message)\n".utf8))
    exit(ExitStatus.displayUnavailable)
} catch {
    FileHandle.standardError.write(Data("qwen-agent-bench: \(error)\n".utf8))
    exit(1)
}
