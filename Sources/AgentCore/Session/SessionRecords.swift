public import Imaging
public import Models
import Units

// The session format, version 1, as types (README, "Sessions"). `session.jsonl` holds one
// ``SessionHeader``, one ``StepRecord`` per step and one ``OutcomeRecord`` at the end; keys are
// snake_case (`timings_ms`, `input_events`). Fields are only ever added, and added fields are
// optional, so every version-1 file ever written still reads.

/// The first line: what ran, with what, where.
public struct SessionHeader: Codable, Sendable, Equatable {
    public var type = "session"
    public var version = SessionFormat.version
    /// When the run started (internet date-time with milliseconds).
    public var started: String
    public var task: String
    /// The agent profile's name (`none` for a human demonstration).
    public var profile: String
    public var model: RecordedModel
    public var display: String
    /// The area the run worked in, in root-window pixels.
    public var area: RecordedRect
    /// The model's coordinate space, written as a profile writes it (`relative`, `pixels`, `resized:WxH`).
    public var coordinateSpace: CoordinateMapping.CoordinateSpace
    public var shape: OutputShape

    public init(started: String = SessionRecorder.timestamp(), task: String, profile: String, model: RecordedModel, display: String,
                area: Rect, coordinateSpace: CoordinateMapping.CoordinateSpace, shape: OutputShape) {
        self.started = started
        self.task = task
        self.profile = profile
        self.model = model
        self.display = display
        self.area = RecordedRect(area)
        self.coordinateSpace = coordinateSpace
        self.shape = shape
    }
}

/// Who answered: a model backend, or a person (a recorded demonstration).
public struct RecordedModel: Codable, Sendable, Equatable {
    /// `embedded`, `served`, `scripted` (see ``ModelIdentity/Kind``) or `human`.
    public var kind: String
    public var name: String
    /// The embedded engine's arithmetic and weight format (``ModelIdentity/mode``); absent otherwise,
    /// and in sessions recorded before it was kept.
    public var mode: String?

    public init(kind: String, name: String, mode: String? = nil) {
        self.kind = kind
        self.name = name
        self.mode = mode
    }

    public init(_ identity: ModelIdentity) {
        self.init(kind: identity.kind.rawValue, name: identity.name, mode: identity.mode)
    }

    public static let human = RecordedModel(kind: "human", name: "demonstration")
}

public struct RecordedRect: Codable, Sendable, Equatable {
    public var x, y, width, height: Int

    public init(_ rect: Rect) {
        (x, y, width, height) = (rect.x, rect.y, rect.width, rect.height)
    }

    public var rect: Rect { Rect(x: x, y: y, width: width, height: height) }
}

/// One step: what the model saw and wrote, what was done, what happened.
public struct StepRecord: Codable, Sendable {
    public var type = "step"
    public var step: Int
    public var time: String
    public var frames: Frames
    /// The model's whole reply (empty for a demonstration).
    public var output: String
    /// `ok`, or why the reply could not be used.
    public var status: String
    public var plan: PlanRecord
    public var performed: [PerformedAction]
    public var inputEvents: [InputEventRecord]?
    public var timingsMs: Timings?
    public var modelCall: ModelCall?
    /// Which model of a router answered, and why it was chosen.
    public var route: RouteRecord?
    /// What the screen did, in words; absent when nothing was performed.
    public var verification: String?
    public var screenChanged: Bool?
    /// The action not sent because the screen changed after the model saw it (see ``PreActionCheck``).
    public var refused: RefusedAction?

    public struct Frames: Codable, Sendable, Equatable {
        /// Paths inside the session folder.
        public var before: String
        public var after: String?

        public init(before: String, after: String? = nil) {
            self.before = before
            self.after = after
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func framePath(_ key: CodingKeys) throws -> String? {
                guard let path = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
                guard SessionFormat.isFramePath(path) else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: container,
                        debugDescription: "\(path) is not a file in the session's \(SessionFormat.framesFolder) folder")
                }
                return path
            }
            guard let before = try framePath(.before) else {
                throw DecodingError.keyNotFound(CodingKeys.before, .init(codingPath: container.codingPath, debugDescription: "no before frame"))
            }
            self.before = before
            after = try framePath(.after)
        }

        private enum CodingKeys: String, CodingKey { case before, after }
    }

    public struct Timings: Codable, Sendable, Equatable {
        public var capture, think, parse, act, settle: Double

        public init(_ timings: StepTimings) {
            func ms(_ duration: Duration) -> Double { (duration.milliseconds * 10).rounded() / 10 }
            (capture, think, parse, act, settle) = (ms(timings.capture), ms(timings.think), ms(timings.parse), ms(timings.act), ms(timings.settle))
        }
    }

    public init(step: Int, time: String = SessionRecorder.timestamp(), frames: Frames, output: String, status: String,
                plan: PlanRecord, performed: [PerformedAction]) {
        self.step = step
        self.time = time
        self.frames = frames
        self.output = output
        self.status = status
        self.plan = plan
        self.performed = performed
    }

    enum CodingKeys: String, CodingKey {
        case type, step, time, frames, output, status, plan, performed, inputEvents, timingsMs, modelCall, route, verification, screenChanged, refused
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        step = try container.decode(Int.self, forKey: .step)
        time = try container.decode(String.self, forKey: .time)
        frames = try container.decode(Frames.self, forKey: .frames)
        output = try container.decodeIfPresent(String.self, forKey: .output) ?? ""
        status = try container.decode(String.self, forKey: .status)
        plan = try container.decode(PlanRecord.self, forKey: .plan)
        performed = try container.decodeIfPresent([PerformedAction].self, forKey: .performed) ?? []
        inputEvents = try container.decodeIfPresent([InputEventRecord].self, forKey: .inputEvents)
        timingsMs = try container.decodeIfPresent(Timings.self, forKey: .timingsMs)
        // Sessions written before the cost became a record hold a sentence here; it is not kept.
        modelCall = try? container.decodeIfPresent(ModelCall.self, forKey: .modelCall)
        route = try container.decodeIfPresent(RouteRecord.self, forKey: .route)
        verification = try container.decodeIfPresent(String.self, forKey: .verification)
        screenChanged = try container.decodeIfPresent(Bool.self, forKey: .screenChanged)
        refused = try container.decodeIfPresent(RefusedAction.self, forKey: .refused)
    }
}

/// An action the loop did not send, and why: the screen was no longer the one the model saw.
public struct RefusedAction: Codable, Sendable, Equatable {
    public var action: PerformedAction
    /// ``StaleScreen/kind``: `screen_geometry_changed`, `window_closed`, `window_moved`, `window_covered`, `focus_moved`, `pixels_changed`.
    public var reason: String
    /// The facts, in root-window pixels and window ids.
    public var detail: String

    public init(action: PerformedAction, reason: StaleScreen) {
        self.action = action
        self.reason = reason.kind
        detail = reason.description
    }
}

/// Which model of a router answered a step, and why.
public struct RouteRecord: Codable, Sendable, Equatable {
    /// `instruct` or `thinking`.
    public var model: String
    public var reason: String

    public init(model: String, reason: String) {
        self.model = model
        self.reason = reason
    }
}

/// A parsed reply: the stable JSON of `qwen-agent parse --json` (keys are only ever added).
public struct PlanRecord: Codable, Sendable, Equatable {
    /// `ok`, a parse failure's kind, or `coordinate_out_of_range`.
    public var status: String
    public var shape: String?
    public var mapping: String?
    public var reason: String?
    public var excerpt: String?
    public var span: [Int]?
    /// `tool_calls`, `reasoning_steps`, `grounding`, `compatibility`, or `demonstration`.
    public var source: String?
    public var explanation: [String]?
    public var actions: [Action]

    public init(status: String, shape: String? = nil, mapping: String? = nil, source: String? = nil, actions: [Action]) {
        self.status = status
        self.shape = shape
        self.mapping = mapping
        self.source = source
        self.actions = actions
    }

    /// One planned action: its name, its screen pixels and its arguments as the model wrote them.
    public struct Action: Codable, Sendable, Equatable {
        public var action: String
        /// UTF-8 offsets of the text it came from.
        public var span: [Int]?
        /// Screen pixels: the point, or a drag's start (`x2`/`y2` its end).
        public var x, y, x2, y2: Int?
        /// The points as the model wrote them.
        public var model: ModelPoints?
        public var text: String?
        public var keys: [String]?
        public var amount: Int?
        public var seconds: Double?
        public var terminateStatus: String?
        public var label: String?

        public init(action: String) {
            self.action = action
        }
    }

    public struct ModelPoints: Codable, Sendable, Equatable {
        public var coordinate: [Double]?
        public var startCoordinate: [Double]?
    }
}

/// An action as performed, with its coordinate chain: as the model wrote it, in the screenshot, on the screen.
public struct PerformedAction: Codable, Sendable, Equatable {
    public var action: String
    public var description: String
    public var point: PointChain?
    public var start: PointChain?
    public var text: String?
    public var keys: [String]?

    public struct PointChain: Codable, Sendable, Equatable {
        /// Absent for a demonstration: a person has no model space.
        public var model: [Double]?
        public var image: [Int]
        public var screen: [Int]
    }

    /// `resolved` as performed through `mapping` (a demonstration has no model points: a person has no model space).
    public init(_ resolved: ResolvedAction, mapping: CoordinateMapping, withModelPoints: Bool = true) {
        action = resolved.action.name.rawValue
        description = resolved.description
        func chain(_ model: ModelPoint?, _ screen: Point?) -> PointChain? {
            guard let screen else { return nil }
            let image = mapping.imagePoint(forScreen: screen)
            return PointChain(model: withModelPoints ? model.map { [$0.x, $0.y] } : nil, image: [image.x, image.y], screen: [screen.x, screen.y])
        }
        point = chain(resolved.action.point, resolved.point)
        start = chain(resolved.action.startPoint, resolved.startPoint)
        text = resolved.action.text
        keys = resolved.action.keys
    }
}

/// One XTest event as sent: kind, button or keycode, pointer position, milliseconds.
public struct InputEventRecord: Codable, Sendable, Equatable {
    public var kind: String
    public var ms: Int
    public var x: Int?
    public var y: Int?
    /// The button number or keycode (absent for motion, which has `x`/`y`).
    public var detail: Int?

    public init(kind: String, ms: Int, x: Int? = nil, y: Int? = nil, detail: Int? = nil) {
        self.kind = kind
        self.ms = ms
        self.x = x
        self.y = y
        self.detail = detail
    }
}

/// The last line: how the run ended.
public struct OutcomeRecord: Codable, Sendable, Equatable {
    public var type = "outcome"
    /// ``Outcome/kind``: success, failure, needs-user, aborted-by-user, budget-exhausted, error.
    public var outcome: String
    public var detail: String
    public var seconds: Double

    public init(_ outcome: Outcome, seconds: Double) {
        self.outcome = outcome.kind
        detail = outcome.description
        self.seconds = (seconds * 10).rounded() / 10
    }

    public init(outcome: String, detail: String, seconds: Double) {
        self.outcome = outcome
        self.detail = detail
        self.seconds = (seconds * 10).rounded() / 10
    }
}
