import AgentCore
import Imaging
import TestSupportCore
import Testing

@Suite("The coordinate contract")
struct CoordinateMappingTests {
    static let screens = [Size(width: 1920, height: 1080), Size(width: 1280, height: 800), Size(width: 3840, height: 2160),
                          Size(width: 1366, height: 768), Size(width: 1001, height: 333), Size(width: 7, height: 5)]
    static let origins = [Point(x: 0, y: 0), Point(x: 1920, y: 0), Point(x: 640, y: 1080), Point(x: 0, y: 37)]

    @Test(arguments: screens, origins)
    func relativeRoundTripLandsOnTheSamePixel(size: Size, origin: Point) throws {
        let mapping = CoordinateMapping(space: .relative1000, imageSize: size, imageOrigin: origin)
        var generator = SeededGenerator()
        for _ in 0..<500 {
            let pixel = Point(x: origin.x + Int.random(in: 0..<size.width, using: &generator),
                              y: origin.y + Int.random(in: 0..<size.height, using: &generator))
            let model = mapping.modelPoint(forScreen: pixel)
            #expect(try mapping.screenPoint(for: model) == pixel, "\(generator)")
        }
        // Corners and edges, including the edge value 1000 (the last pixel).
        #expect(try mapping.screenPoint(for: ModelPoint(x: 0, y: 0)) == origin)
        #expect(try mapping.screenPoint(for: ModelPoint(x: 1000, y: 1000)) == Point(x: origin.x + size.width - 1, y: origin.y + size.height - 1))
    }

    @Test(arguments: screens)
    func integerModelCoordinatesAreWithinHalfAUnitOfTheirPixel(size: Size) throws {
        // Models write whole numbers: the pixel a whole number maps to is less than one pixel (plus
        // the grid's own step) away from where the exact value would fall.
        let mapping = CoordinateMapping(space: .relative1000, imageSize: size)
        for value in stride(from: 0, through: 1000, by: 7) {
            let pixel = try mapping.imagePoint(for: ModelPoint(x: Double(value), y: Double(value)))
            let exact = Double(value) * Double(size.width) / 1000
            #expect(abs(Double(pixel.x) - exact) < 1 || value == 1000, "x=\(value) → \(pixel.x), exact \(exact)")
        }
    }

    @Test(arguments: [(Size(width: 1920, height: 1080), Size(width: 1344, height: 756)), (Size(width: 1280, height: 800), Size(width: 1280, height: 800)),
                      (Size(width: 3840, height: 2160), Size(width: 1920, height: 1088))])
    func resizedPixelRoundTrip(captured: Size, resized: Size) throws {
        let mapping = CoordinateMapping(space: .resizedPixels(resized), imageSize: captured, imageOrigin: Point(x: 100, y: 50))
        for x in stride(from: 0, to: captured.width, by: 97) {
            for y in stride(from: 0, to: captured.height, by: 89) {
                let pixel = Point(x: 100 + x, y: 50 + y)
                #expect(try mapping.screenPoint(for: mapping.modelPoint(forScreen: pixel)) == pixel)
            }
        }
        // The resized image's far edge is the captured image's last pixel.
        #expect(try mapping.imagePoint(for: ModelPoint(x: Double(resized.width), y: 0)).x == captured.width - 1)
    }

    @Test func plainPixelsAreOffsetOnly() throws {
        let mapping = CoordinateMapping(space: .imagePixels, imageSize: Size(width: 800, height: 600), imageOrigin: Point(x: 1920, y: 0))
        #expect(try mapping.screenPoint(for: ModelPoint(x: 799, y: 0)) == Point(x: 2719, y: 0))
        #expect(throws: CoordinateError.self) { try mapping.screenPoint(for: ModelPoint(x: 800, y: 0)) }
    }

    @Test(arguments: [ModelPoint(x: -1, y: 5), ModelPoint(x: 5, y: 1000.5), ModelPoint(x: .nan, y: 5), ModelPoint(x: 5, y: .infinity),
                      ModelPoint(x: 1e300, y: 1)])
    func outOfRangeIsRejectedNotClamped(point: ModelPoint) {
        let mapping = CoordinateMapping(space: .relative1000, imageSize: Size(width: 1920, height: 1080))
        let error = #expect(throws: CoordinateError.self) { try mapping.screenPoint(for: point) }
        #expect(error?.message.contains("not clamped") == true)
    }
}
