@testable import Agent
import AgentCore
import Foundation
import FuzzSupport
import Imaging

/// An agent profile (`Agents/*.json`, `--agent FILE`): a profile whose system messages render for
/// every coordinate space, or a one-line error that names the file.
func fuzzProfile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        let profile = try Profile.decode(Data(fuzzBytes(data, size)), origin: "fuzz.json")
        for space in [CoordinateMapping.CoordinateSpace.relative1000, .resizedPixels(Size(width: 1288, height: 728)), .imagePixels] {
            _ = profile.systemMessage(for: space, imageSize: Size(width: 1280, height: 720))
        }
    } catch {
        precondition(error.message.contains("fuzz.json"), "an error that does not name the file: \(error.message)")
    }
    return 0
}
