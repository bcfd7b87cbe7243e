import AgentCore
import FuzzSupport
import Imaging

/// The step parser and the coordinate chain on any model output. The first byte picks the output shape
/// and coordinate space (every combination is reached); the rest is the model's text. A plan and a
/// failure never come together, and every mapped point is on the screen or reported.
func fuzzParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let shape = OutputShape.allCases[Int(selector & 1)]
    let image = Size(width: 1280, height: 720)
    let space: CoordinateMapping.CoordinateSpace = switch (selector >> 1) % 3 {
    case 0: .relative1000
    case 1: .resizedPixels(Size(width: 1288, height: 728))
    default: .imagePixels
    }
    let report = PlanReport(text: text, shape: shape, mapping: CoordinateMapping(space: space, imageSize: image, imageOrigin: Point(x: 1920, y: 0)))
    precondition((report.plan == nil) != (report.failure == nil), "a plan and a failure together, or neither")
    if let plan = report.plan { precondition(!plan.actions.isEmpty, "an empty plan") }
    return 0
}
