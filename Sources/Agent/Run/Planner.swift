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

/// Asks the model what to do on a screenshot and parses the answer; sends no input.
public struct Planner: Sendable {
    public let profile: Profile
    public let model: any VisionLanguageModel

    public init(profile: Profile, model: any VisionLanguageModel) {
        self.profile = profile
        self.model = model
    }

    /// - Parameters:
    ///   - origin: where the screenshot's top-left pixel is on the root window (a monitor's offset).
    ///   - onText: called with each piece of text as the model streams it.
    public func plan(task: String, screenshot: RGBImage, origin: Point, mapping space: CoordinateMapping.CoordinateSpace,
                     onText: (String) -> Void = { _ in }) async throws -> PlanResult {
        let resolution = space == .relative1000 ? "1000x1000" : "\(screenshot.width)x\(screenshot.height)"
        let conversation: [ChatMessage] = [
            .system(profile.systemMessage(resolution: resolution)),
            ChatMessage(role: .user, content: [.image(screenshot), .text(task)]),
        ]
        var output = ""
        for try await case .text(let piece) in model.generate(conversation, settings: profile.generation) {
            output += piece
            onText(piece)
        }
        let mapping = CoordinateMapping(space: space, imageSize: screenshot.size, imageOrigin: origin)
        return PlanResult(screenshot: screenshot, output: output, model: model.identity,
                          report: PlanReport(text: output, shape: profile.shape, mapping: mapping))
    }
}

extension PlanResult {
    /// The screenshot with a numbered marker at each planned point and an arrow for each drag.
    public var picture: RGBImage {
        var image = screenshot
        let origin = report.mapping.imageOrigin
        let colour = RGB(hex: 0xE0301E)
        for (index, resolved) in report.resolved.enumerated() {
            guard let point = resolved.point.map({ Point(x: $0.x - origin.x, y: $0.y - origin.y) }) else { continue }
            let start = resolved.startPoint ?? (resolved.action.name == .leftClickDrag ? pointer : nil)
            if let start = start.map({ Point(x: $0.x - origin.x, y: $0.y - origin.y) }) {
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
