import Agent
import AgentCore
import Foundation
import Imaging

/// A session folder with just a header (a human demonstration of an 8x8 area), for tests that write
/// their own step lines.
func sessionWithHeader(in folder: URL, task: String) throws -> SessionRecorder {
    try SessionRecorder(directory: folder, header: SessionHeader(
        task: task, profile: "none", model: .human, display: ":0", area: Rect(x: 0, y: 0, width: 8, height: 8),
        coordinateSpace: .imagePixels, shape: .instruct))
}
