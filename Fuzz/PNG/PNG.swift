import FuzzSupport
import Imaging

/// A PNG file (a recorded frame, a screenshot passed on the command line) through libpng and our
/// wrapper: an image whose pixel count matches its size, which encodes and decodes back to itself,
/// or an error.
func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let image = try? PNG.decode(fuzzBytes(data, size)) else { return 0 }
    precondition(image.pixels.count == image.width * image.height * 3, "\(image.width)x\(image.height) with \(image.pixels.count) bytes")
    let again = try! PNG.decode(PNG.encode(image))
    precondition(again == image, "a decoded image does not survive encoding")
    return 0
}
