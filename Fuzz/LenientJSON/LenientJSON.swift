@testable import AgentCore
import FuzzSupport

/// The forgiving JSON reader the parser uses for tool-call arguments: a value or a failure whose offset
/// is inside the input, and the value's end never past it.
func fuzzLenientJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let length = text.utf8.count
    do {
        let (_, end) = try LenientJSON.parse(text)
        precondition(end <= length, "value ends at \(end), past the \(length)-byte input")
    } catch {
        precondition(error.offset <= length && !error.reason.isEmpty, "failure \(error) outside the \(length)-byte input")
    }
    return 0
}
