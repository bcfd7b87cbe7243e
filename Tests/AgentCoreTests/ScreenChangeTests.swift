@testable import AgentCore
import Imaging
import Testing

@Suite("Settling and verification: what changed, and where")
struct ScreenChangeTests {
    @Test func changeNearTheTargetIsTold() {
        let before = RGBImage(width: 200, height: 100, fill: RGB(hex: 0xFFFFFF))
        var after = before
        for y in 40..<60 { for x in 90..<110 { after[x, y] = RGB(hex: 0x204080) } }
        let change = ScreenChange(from: before, to: after, near: Point(x: 100, y: 50))
        #expect(change.changedPixels == 400 && change.changedNearTarget == 400)
        #expect(Verification(change, hasTarget: true) == .changedNearTarget(pixels: 400))
        let far = ScreenChange(from: before, to: after, near: Point(x: 10, y: 10))
        #expect(far.changedNearTarget == 0)
        #expect(Verification(far, hasTarget: true) == .changedElsewhere(pixels: 400))
    }

    @Test func aBlinkingCursorIsNotAChange() {
        let before = RGBImage(width: 64, height: 64, fill: RGB(hex: 0xFFFFFF))
        var after = before
        for y in 10..<20 { after[5, y] = RGB(hex: 0) } // a 1x10 text cursor
        let change = ScreenChange(from: before, to: after)
        #expect(change.changedPixels == 10 && change.isNothing)
        #expect(Verification(change, hasTarget: true) == .unchanged)
        #expect(ScreenChange(from: before, to: before).changedPixels == 0)
    }
}
