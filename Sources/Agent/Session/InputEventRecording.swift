public import AgentCore
public import Desktop
import Imaging

extension InputEventRecord {
    /// The record of one XTest event as the input controller sent it.
    public init(_ event: SentInputEvent) {
        if let point = event.point {
            self.init(kind: event.kind.rawValue, ms: event.milliseconds, x: point.x, y: point.y)
        } else {
            self.init(kind: event.kind.rawValue, ms: event.milliseconds, detail: event.detail)
        }
    }
}
