// qwen-agent-engine-bench: the embedded Qwen3-VL engine on one agent step — load, image processor,
// vision tower, prefill, decode — with resident memory, on any model folder.
//
//     QWEN_AGENT_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product qwen-agent-engine-bench
//     .build-bench/release/qwen-agent-engine-bench --model DIR --tokenizer DIR --image SCREENSHOT.png \
//         [--agent Agents/desktop-thinking.json] [--new-tokens 16] [--repeats 1] [--processor-image PNG]... \
//         [--ids-out ids.json] [--json out.json] [--precision f32|bf16] [--weights bf16|int8|int4] [--logits-out FILE] [--no-second-step] [--steps N]
//
// The prompt is the agent's first step as `AgentLoop` builds it: the profile's system prompt with the
// computer_use tool, the task, then the screenshot and "What is the next step?". `--ids-out` writes its
// token ids and image grid for Benchmarks/Engine/transformers_reference.py, so both engines run the
// same tokens, and the prompt's texts for Benchmarks/Engine/llamacpp_reference.py.
// `scripts/benchmark-engine` runs the three side by side.
import Agent
import AgentCore
import Foundation
import Imaging
import Qwen3VL
import Qwen3VLPrompt

struct Options {
    var model = "", tokenizer: String?, image = ""
    var agent = "Agents/desktop-thinking.json"
    var newTokens = 16, repeats = 1, processorRepeats = 20
    var idsOut: String?, json: String?, logitsOut: String?
    var secondStep = true
    /// Agent steps to run one after another through one prompt cache (0: none).
    var steps = 0
    var precision = Qwen3VL.Precision.fastest, weights = Qwen3VL.WeightFormat.bf16
    /// Screenshots to time the image processor alone on (besides --image).
    var processorImages: [String] = []

    init(_ arguments: [String]) {
        var rest = arguments.makeIterator()
        func value(_ flag: String) -> String {
            guard let value = rest.next() else { fail("\(flag) needs a value") }
            return value
        }
        while let flag = rest.next() {
            switch flag {
            case "--model": model = value(flag)
            case "--tokenizer": tokenizer = value(flag)
            case "--image": image = value(flag)
            case "--agent": agent = value(flag)
            case "--new-tokens": newTokens = Int(value(flag)) ?? 16
            case "--repeats": repeats = max(1, Int(value(flag)) ?? 1)
            case "--processor-repeats": processorRepeats = max(1, Int(value(flag)) ?? 20)
            case "--processor-image": processorImages.append(value(flag))
            case "--ids-out": idsOut = value(flag)
            case "--logits-out": logitsOut = value(flag)
            case "--no-second-step": secondStep = false
            case "--steps": steps = max(0, Int(value(flag)) ?? 0)
            case "--json": json = value(flag)
            case "--precision": precision = Qwen3VL.Precision(rawValue: value(flag)) ?? { fail("--precision is f32 or bf16") }()
            case "--weights": weights = Qwen3VL.WeightFormat(rawValue: value(flag)) ?? { fail("--weights is bf16, int8 or int4") }()
            default: fail("unknown argument \(flag)")
            }
        }
        if model.isEmpty || image.isEmpty { fail("usage: qwen-agent-engine-bench --model DIR [--tokenizer DIR] --image PNG [--agent FILE] [--new-tokens N] [--repeats N] [--processor-image PNG]... [--ids-out FILE] [--json FILE] [--precision f32|bf16] [--weights bf16|int8|int4] [--logits-out FILE] [--no-second-step] [--steps N]") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("qwen-agent-engine-bench: \(message)\n".utf8))
    exit(64)
}

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
}

func median(_ samples: [Double]) -> Double {
    let sorted = samples.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Resident memory now and at its peak (`/proc/self/status`: VmRSS, VmHWM), in MB.
func residentMemory() -> (now: Double, peak: Double) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

Qwen3VL.BLAS.chooseKernels { FileHandle.standardError.write(Data("qwen-agent-engine-bench: \($0)\n".utf8)) }
let options = Options(Array(CommandLine.arguments.dropFirst()))
let folderURL = URL(fileURLWithPath: options.model)
let profile: Profile
let image: RGBImage
do {
    profile = try Profile.load(options.agent)
    image = try PNG.read(from: URL(fileURLWithPath: options.image))
} catch {
    fail("\(error)")
}

// MARK: Load

var text: Qwen3VL.TextModel!, vision: Qwen3VL.VisionTower!, folder: Qwen3VL.ModelFolder!
var tokenizer: Qwen3VL.Tokenizer!, template: Qwen3VL.ChatTemplate!
let loadMilliseconds = milliseconds {
    do {
        folder = try Qwen3VL.ModelFolder(contentsOf: folderURL)
        text = try Qwen3VL.TextModel(folder: folder, precision: options.precision, weights: options.weights)
        vision = try Qwen3VL.VisionTower(folder: folder, precision: options.precision, weights: options.weights)
        tokenizer = try Qwen3VL.Tokenizer.load(folder: options.tokenizer.map { URL(fileURLWithPath: $0) } ?? folderURL)
        template = try Qwen3VL.ChatTemplate.load(folder: folderURL)
    } catch {
        fail("cannot load \(options.model): \(error)")
    }
}
let afterLoad = residentMemory()
let weightBytes = try FileManager.default.contentsOfDirectory(atPath: options.model).filter { $0.hasSuffix(".safetensors") }
    .reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: options.model + "/" + $1)[.size] as? Int) ?? 0) }

// MARK: Image processor

let processor = Qwen3VL.ImageProcessor(config: folder.preprocessor, minPixels: profile.image.minPixels, maxPixels: profile.image.maxPixels)
var pixelValues: [Float] = []
var grid = processor.process(image, into: &pixelValues)
let processorSamples = (0..<options.processorRepeats).map { _ in milliseconds { grid = processor.process(image, into: &pixelValues) } }

/// The processor alone on other screenshots: into a reused buffer (the engine's way) and into a fresh array.
let processorImages: [[String: Any]] = options.processorImages.map { path in
    guard let picture = try? PNG.read(from: URL(fileURLWithPath: path)) else { fail("cannot read \(path)") }
    var buffer: [Float] = []
    var shape = processor.process(picture, into: &buffer)
    let reused = (0..<options.processorRepeats).map { _ in milliseconds { shape = processor.process(picture, into: &buffer) } }
    let fresh = (0..<options.processorRepeats).map { _ in milliseconds { _ = processor.process(picture) } }
    return ["image": path, "size": [picture.width, picture.height], "grid": [shape.t, shape.h, shape.w],
            "reused_buffer_ms": median(reused), "fresh_array_ms": median(fresh)]
}

// MARK: Prompt

let system = profile.systemMessage(for: profile.coordinateSpace, imageSize: image.size)
let task = "Task: log out of the app", question = "What is the next step?"
let messages: [Qwen3VL.ChatTemplate.Message] = [
    .init(role: "system", content: .parts([.text(system)])),
    .init(role: "user", content: .parts([.text(task)])),
    .init(role: "user", content: .parts([.image, .text(question)])),
]
let prompt = tokenizer.encode(try! Qwen3VL.expandImagePads(in: template.render(messages, addGenerationPrompt: true), grids: [grid]))
if let idsOut = options.idsOut {
    let object: [String: Any] = [
        "input_ids": prompt.map(Int.init), "image_grid_thw": [[grid.t, grid.h, grid.w]],
        "min_pixels": profile.image.minPixels, "max_pixels": profile.image.maxPixels,
        // The texts, for engines that format the prompt themselves (llama.cpp).
        "system": system, "task": task, "question": question,
    ]
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: idsOut))
}

// MARK: Vision tower, prefill, decode

/// Greedy generation through the prompt cache, as the agent's embedded backend runs it: the time to
/// the first token is the prefill (and whatever the cache could not supply), then one time per token.
@MainActor func generate(_ prompt: [Int32], visual: Qwen3VL.VisualInput, grids: [Qwen3VL.Grid], keys: [Int], newTokens: Int,
              cache: Qwen3VL.PromptCache) -> (tokens: [Int32], prefill: Double, decode: [Double], firstLogits: [Float]) {
    var greedy = Qwen3VL.SamplingOptions()
    greedy.maxNewTokens = newTokens
    greedy.temperature = 0
    greedy.stopTokens = []
    var stamps: [ContinuousClock.Instant] = []
    var firstLogits: [Float] = []
    let start = ContinuousClock.now
    let tokens = Qwen3VL.Generator(model: text).generate(prompt, visual: visual, imageGrids: grids, imageKeys: keys,
                                                         options: greedy, promptCache: cache) { _ in
        stamps.append(.now)
        if firstLogits.isEmpty { firstLogits = cache.logits } // the prefill's, before the first decode step
        return true
    }
    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }
    return (tokens, ms(stamps[0] - start), zip(stamps.dropFirst(), stamps).map { ms($0 - $1) }, firstLogits)
}

@MainActor func encode(_ pixels: [Float], _ grid: Qwen3VL.Grid) -> Qwen3VL.VisualInput {
    let (features, deepstack) = vision.encode(pixelValues: pixels, grid: grid)
    return Qwen3VL.VisualInput(embeddings: features, deepstack: deepstack)
}

var visual = Qwen3VL.VisualInput()
var visionSamples: [Double] = [], prefillSamples: [Double] = []
var promptCache = Qwen3VL.PromptCache(model: text)
var generated: [Int32] = []
var decodeSamples: [Double] = []
for _ in 0..<options.repeats {
    visionSamples.append(milliseconds { visual = encode(pixelValues, grid) })
    promptCache = Qwen3VL.PromptCache(model: text)
    let run = generate(prompt, visual: visual, grids: [grid], keys: [image.hashValue], newTokens: options.newTokens, cache: promptCache)
    prefillSamples.append(run.prefill)
    (generated, decodeSamples) = (run.tokens, run.decode)
    if let path = options.logitsOut {
        try run.firstLogits.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
    }
}

// Memory of one agent step: the second step below keeps two KV caches alive at once, for the comparison.
let memory = residentMemory()
let kvBytes = promptCache.kvCacheBytes

// MARK: Second step

// The agent's next step: the first screenshot, the reply, feedback, and a new screenshot (the
// sign-in button pressed). With the prompt cache, the system prompt and task are not recomputed and
// the first screenshot is not encoded again; without it, everything is.
func joined(_ first: Qwen3VL.VisualInput, _ second: Qwen3VL.VisualInput) -> Qwen3VL.VisualInput {
    var both = first
    both.append(features: second.embeddings, deepstack: second.deepstack)
    return both
}

/// The second step's prompt size, reused tokens and time to the first token with and without the cache.
@MainActor func secondStep() -> [String: Any] {
    var after = image
    after.fillRect(Rect(x: 270, y: 336, width: 120, height: 36), color: RGB(hex: 0x1F4E9A))
    let stepTwo: [Qwen3VL.ChatTemplate.Message] = Array(messages.prefix(2)) + [
        .init(role: "user", content: .parts([.image])),
        .init(role: "assistant", content: .parts([.text(tokenizer.decode(generated))])),
        .init(role: "user", content: .parts([.text("Step 1: clicked (330, 354); the screen changed near the target.")])),
        .init(role: "user", content: .parts([.image, .text("What is the next step?")])),
    ]
    var afterPixels: [Float] = []
    let afterGrid = processor.process(after, into: &afterPixels)
    let stepTwoPrompt = tokenizer.encode(try! Qwen3VL.expandImagePads(in: template.render(stepTwo, addGenerationPrompt: true), grids: [grid, afterGrid]))
    var reusedStep = (milliseconds: 0.0, reusedTokens: 0)
    reusedStep.milliseconds = milliseconds {
        let visualAfter = encode(afterPixels, afterGrid) // the first screenshot's rows are kept from step 1
        _ = generate(stepTwoPrompt, visual: joined(visual, visualAfter), grids: [grid, afterGrid], keys: [image.hashValue, after.hashValue],
                     newTokens: 1, cache: promptCache)
    }
    reusedStep.reusedTokens = promptCache.reusedTokens
    let freshStep = milliseconds {
        let both = joined(encode(pixelValues, grid), encode(afterPixels, afterGrid))
        _ = generate(stepTwoPrompt, visual: both, grids: [grid, afterGrid], keys: [image.hashValue, after.hashValue], newTokens: 1,
                     cache: Qwen3VL.PromptCache(model: text))
    }
    return [
        "prompt_tokens": stepTwoPrompt.count, "reused_tokens": reusedStep.reusedTokens, "images": 2,
        "time_to_first_token_with_cache_ms": reusedStep.milliseconds, "time_to_first_token_without_cache_ms": freshStep,
    ]
}
let stepTwo = options.secondStep ? secondStep() : nil

/// `count` agent steps through one prompt cache, as the agent runs them: each step's prompt is the
/// system prompt and task, the previous screenshot with the reply to it and feedback, then a new
/// screenshot (a button pressed somewhere else each time); each new screenshot goes through the
/// processor and the vision tower, the previous one's rows are kept. Returns each step's time to its
/// last token (`newTokens` greedy tokens).
@MainActor func agentSteps(_ count: Int) -> [Double] {
    let cache = Qwen3VL.PromptCache(model: text)
    var previous: (key: Int, visual: Qwen3VL.VisualInput, grid: Qwen3VL.Grid, reply: String)?
    return (1...count).map { step in
        milliseconds {
            var screen = image
            screen.fillRect(Rect(x: 40 + 53 * step % max(1, image.width - 100), y: 300, width: 50, height: 30), color: RGB(hex: 0x1F4E9A))
            var pixels: [Float] = []
            let screenGrid = processor.process(screen, into: &pixels)
            let current = encode(pixels, screenGrid)
            var conversation = Array(messages.prefix(2))
            var visual = current, grids = [screenGrid], keys = [screen.hashValue]
            if let previous {
                conversation += [
                    .init(role: "user", content: .parts([.image])), .init(role: "assistant", content: .parts([.text(previous.reply)])),
                    .init(role: "user", content: .parts([.text("Step \(step - 1): clicked; the screen changed near the target.")])),
                ]
                visual = joined(previous.visual, current)
                grids = [previous.grid, screenGrid]
                keys = [previous.key, screen.hashValue]
            }
            conversation.append(.init(role: "user", content: .parts([.image, .text("What is the next step?")])))
            let prompt = tokenizer.encode(try! Qwen3VL.expandImagePads(in: template.render(conversation, addGenerationPrompt: true), grids: grids))
            let reply = generate(prompt, visual: visual, grids: grids, keys: keys, newTokens: options.newTokens, cache: cache).tokens
            previous = (screen.hashValue, current, screenGrid, tokenizer.decode(reply))
        }
    }
}
let stepTimes = options.steps > 0 ? agentSteps(options.steps) : []

// MARK: Report

let decodeSeconds = decodeSamples.reduce(0, +) / 1000
let results: [String: Any] = [
    "engine": "qwen-agent (Swift, OpenBLAS \(Qwen3VL.BLAS.coreName))",
    "precision": options.precision.rawValue, "weight_format": options.weights.rawValue,
    "image": "\(image.width)x\(image.height)", "image_grid_thw": [grid.t, grid.h, grid.w],
    "prompt_tokens": prompt.count, "image_tokens": grid.tokens,
    "load_ms": loadMilliseconds, "processor_images": processorImages,
    "processor_ms": median(processorSamples), "processor_samples_ms": processorSamples,
    "vision_ms": median(visionSamples), "vision_samples_ms": visionSamples,
    "prefill_ms": median(prefillSamples), "prefill_samples_ms": prefillSamples,
    "time_to_first_token_ms": median(processorSamples) + median(visionSamples) + median(prefillSamples),
    "decode_tokens_per_second": Double(decodeSamples.count) / max(decodeSeconds, 1e-9),
    "decode_ms_per_token_median": decodeSamples.isEmpty ? 0 : median(decodeSamples),
    "greedy_ids": generated.map(Int.init),
    "weights_bytes": weightBytes, "kv_cache_bytes": kvBytes,
    "rss_after_load_mb": afterLoad.now, "peak_rss_mb": memory.peak,
    "peak_over_weights_plus_kv": memory.peak * 1_048_576 / Double(weightBytes + kvBytes),
]
var report = results
report["second_step"] = stepTwo
if !stepTimes.isEmpty {
    // The first step has an empty cache; the others are what a running agent pays per step.
    let later = Array(stepTimes.dropFirst())
    report["agent_steps"] = ["count": stepTimes.count, "new_tokens": options.newTokens, "step_ms": stepTimes,
                             "mean_later_step_ms": later.isEmpty ? 0 : later.reduce(0, +) / Double(later.count)]
}
let encoded = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
if let path = options.json { try encoded.write(to: URL(fileURLWithPath: path)) } else { print(String(decoding: encoded, as: UTF8.self)) }
FileHandle.standardError.write(Data(String(
    format: "%@: %d-token prompt (%d image tokens, grid %dx%d): processor %.1f ms, vision %.0f ms, prefill %.0f ms (%.1f tokens/s), decode %.2f tokens/s; peak RSS %.0f MB = %.2f × (weights %.0f MB + KV %.0f MB)\n",
    image.width == 0 ? "?" : "\(image.width)x\(image.height)", prompt.count, grid.tokens, grid.h, grid.w,
    median(processorSamples), median(visionSamples), median(prefillSamples), Double(prompt.count) / median(prefillSamples) * 1000,
    Double(decodeSamples.count) / max(decodeSeconds, 1e-9), memory.peak, memory.peak * 1_048_576 / Double(weightBytes + kvBytes),
    Double(weightBytes) / 1_048_576, Double(kvBytes) / 1_048_576).utf8))
if let stepTwo {
    FileHandle.standardError.write(Data(String(
        format: "second step: %d-token prompt, 2 screenshots: first token after %.1f s with the prompt cache (%d tokens and 1 screenshot reused), %.1f s without\n",
        stepTwo["prompt_tokens"] as? Int ?? 0, (stepTwo["time_to_first_token_with_cache_ms"] as? Double ?? 0) / 1000,
        stepTwo["reused_tokens"] as? Int ?? 0, (stepTwo["time_to_first_token_without_cache_ms"] as? Double ?? 0) / 1000).utf8))
}
