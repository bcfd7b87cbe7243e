public import AgentCore
public import Imaging
public import Models

/// One think step without acting: the screenshot, what the model wrote, and the plan it gives.
public struct PlanResult: Sendable {
    public let screenshot: RGBImage
    public let output: String
    public let model: ModelIdentity
    public let report: PlanReport
    /// Where the pointer was when planning, in root pixels: a drag without a start begins there.
    public var pointer: Point? = nil
}

/// Asks the model what to do on a screenshot and parses the answer; sends no input. The
/// conversation, the screenshot's size and the step's time limit are the agent loop's first step.
public struct Planner: Sendable {
    public let seat: ModelSeat

    public init(seat: ModelSeat) {
        self.seat = seat
    }

    /// - Parameters:
    ///   - origin: where the screenshot's top-left pixel is on the root window (a monitor's offset).
    ///   - isAborted: watched while the model thinks (Ctrl-C).
    ///   - onEvent: hears each piece of text and status as the model streams them.
    public func plan(task: String, screenshot: RGBImage, origin: Point, isAborted: @escaping @Sendable () -> Bool = { false },
                     onEvent: @escaping @Sendable (ModelEvent) -> Void = { _ in }) async throws -> PlanResult {
        let sent = seat.image(for: screenshot)
        let messages = seat.conversation(imageSize: sent.image.size, space: sent.space)
            .messages(task: task, history: [], screenshot: sent.image)
        let seconds = seat.profile.stepTimeoutSeconds
        let (model, settings) = (seat.model, seat.profile.generation)
        let output = try await Watch(isAborted: isAborted, interval: .milliseconds(20)).race(
            deadline: ContinuousClock.now + .milliseconds(Int64(seconds * 1000)),
            timeout: "the model took longer than the step time limit of \(ModelPoint.format(seconds)) s (the profile's step_timeout_seconds, or --step-timeout)"
        ) {
            var output = ""
            for try await event in model.generate(messages, settings: settings) {
                if case .text(let piece) = event { output += piece }
                onEvent(event)
            }
            return output
        }
        let mapping = CoordinateMapping(space: sent.space, imageSize: screenshot.size, imageOrigin: origin)
        return PlanResult(screenshot: screenshot, output: output, model: model.identity,
                          report: PlanReport(text: output, shape: seat.profile.shape, mapping: mapping))
    }
}

extension PlanResult {
    /// The screenshot with a numbered marker at each planned point and an arrow for each drag.
    public var picture: RGBImage { report.picture(on: screenshot, pointer: pointer) }
}

extension PlanReport {
    /// `screenshot` (the one the plan was made on) with a numbered marker at each planned point and
    /// an arrow for each drag; a drag without a start begins at `pointer`.
    public func picture(on screenshot: RGBImage, pointer: Point? = nil) -> RGBImage {
        var image = screenshot
        let colour = RGB(hex: 0xE0301E)
        for (index, resolved) in resolved.enumerated() {
            guard let point = resolved.point.map(mapping.imagePoint(forScreen:)) else { continue }
            let start = resolved.startPoint ?? (resolved.action.name == .leftClickDrag ? pointer : nil)
            if let start = start.map(mapping.imagePoint(forScreen:)) {
                image.drawArrow(from: start, to: point, color: colour)
                image.drawMarker(at: start, color: colour)
            } else {
                image.drawMarker(at: point, color: colour)
            }
            image.drawBadge(index + 1, at: Point(x: point.x + 12, y: point.y - 30), color: colour)
        }
        return image
    }
}
