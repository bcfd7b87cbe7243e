public import AgentCore
public import Imaging
public import Models

/// A model with the profile it is prompted with: what thinks a step.
public struct ModelSeat: Sendable {
    public var profile: Profile
    public let model: any VisionLanguageModel
    /// The model's coordinate space, from the profile.
    public var space: CoordinateMapping.CoordinateSpace { profile.coordinateSpace }

    public init(profile: Profile, model: any VisionLanguageModel) {
        self.profile = profile
        self.model = model
    }

    /// The screenshot as this model gets it, with the coordinate space that goes with it (``ModelImage``).
    public func image(for screenshot: RGBImage) -> (image: RGBImage, space: CoordinateMapping.CoordinateSpace) {
        ModelImage.prepare(screenshot, limits: profile.image.limits(for: model.identity.kind), space: space)
    }

    /// How this model's conversation is built: its system message (tool block stating the resolution
    /// in its coordinate space) and its history policy.
    public func conversation(imageSize: Size, space: CoordinateMapping.CoordinateSpace) -> Conversation {
        Conversation(systemMessage: profile.systemMessage(for: space, imageSize: imageSize),
                     recentSteps: profile.history.recentSteps, previousActions: profile.history.previousActions)
    }
}
