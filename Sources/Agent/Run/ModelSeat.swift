public import Imaging
public import Models

/// A model with the profile it is prompted with: what thinks a step.
public struct ModelSeat: Sendable {
    /// Changing its `coordinate_space` is not supported (the space is read once, by `init`).
    public var profile: Profile
    public let model: any VisionLanguageModel
    /// The model's coordinate space, from the profile.
    public let space: CoordinateMapping.CoordinateSpace

    public init(profile: Profile, model: any VisionLanguageModel) throws(ProfileError) {
        guard let space = CoordinateMapping.CoordinateSpace(profileValue: profile.coordinateSpace) else {
            throw ProfileError("the profile's coordinate_space '\(profile.coordinateSpace)' is not relative, pixels or resized:WxH")
        }
        self.profile = profile
        self.model = model
        self.space = space
    }

    /// The screenshot as this model gets it: scaled down to the profile's `max_pixels` when larger,
    /// with the coordinate space that goes with it (relative coordinates do not care about the scale;
    /// pixel coordinates become pixels of the resized image).
    public func image(for screenshot: RGBImage) -> (image: RGBImage, space: CoordinateMapping.CoordinateSpace) {
        let pixels = screenshot.width * screenshot.height
        guard pixels > profile.image.maxPixels, profile.image.maxPixels > 0 else { return (screenshot, space) }
        let scale = (Double(profile.image.maxPixels) / Double(pixels)).squareRoot()
        let size = Size(width: max(1, Int(Double(screenshot.width) * scale)), height: max(1, Int(Double(screenshot.height) * scale)))
        return (screenshot.downscaled(to: size), space == .imagePixels ? .resizedPixels(size) : space)
    }

    /// How this model's conversation is built: its system message (tool block stating the resolution
    /// in its coordinate space) and its history policy.
    public func conversation(imageSize: Size, space: CoordinateMapping.CoordinateSpace) -> Conversation {
        let resolution = space == .relative1000 ? "1000x1000" : "\(imageSize.width)x\(imageSize.height)"
        return Conversation(systemMessage: profile.systemMessage(resolution: resolution),
                            recentSteps: profile.history.screenshots - 1, previousActions: profile.history.stepsAsText)
    }
}
