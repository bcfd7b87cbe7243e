import AgentCore
import Imaging
import Testing

@Suite("The check before an action: is the screen still the one the model saw?")
struct PreActionCheckTests {
    static let app = ScreenLayout.Window(id: 0x400001, frame: Rect(x: 100, y: 80, width: 640, height: 400))
    static let layout = ScreenLayout(screen: Size(width: 1280, height: 800), monitors: [Rect(x: 0, y: 0, width: 1280, height: 800)],
                                     windows: [app], focus: app.id)
    static let screenshot = RGBImage(width: 1280, height: 800, fill: RGB(hex: 0xFFFFFF))

    static func click(_ x: Int, _ y: Int) -> ResolvedAction {
        ResolvedAction(Action(.leftClick, point: ModelPoint(x: 0, y: 0)), point: Point(x: x, y: y), startPoint: nil)
    }

    static let typing = ResolvedAction(Action(.type, text: "hello"), point: nil, startPoint: nil)

    static func stale(_ action: ResolvedAction, now: ScreenLayout, firstInStep: Bool = true, live: RGBImage? = nil) -> StaleScreen? {
        PreActionCheck.stale(action, observed: layout, now: now, firstInStep: firstInStep, seen: screenshot, live: live ?? screenshot,
                             imagePoint: { $0 })
    }

    @Test func anUnchangedScreenLetsEveryActionThrough() {
        #expect(Self.stale(Self.click(300, 200), now: Self.layout) == nil)
        #expect(Self.stale(Self.typing, now: Self.layout) == nil)
        #expect(Self.stale(Self.click(20, 20), now: Self.layout) == nil, "the bare root, then and now")
    }

    @Test func theGeometryCountsForEveryActionOfAStep() {
        var resized = Self.layout
        resized.screen = Size(width: 1024, height: 768)
        resized.monitors = [Rect(x: 0, y: 0, width: 1024, height: 768)]
        let reason = Self.stale(Self.click(300, 200), now: resized, firstInStep: false)
        #expect(reason?.kind == "screen_geometry_changed")
        #expect(reason?.description == "the screen changed size from 1280x800 to 1024x768")
        var rearranged = Self.layout
        rearranged.monitors = [Rect(x: 0, y: 0, width: 640, height: 800), Rect(x: 640, y: 0, width: 640, height: 800)]
        #expect(Self.stale(Self.typing, now: rearranged)?.kind == "screen_geometry_changed")
    }

    @Test func theWindowUnderTheTargetMustBeTheSameInTheSamePlace() {
        var closed = Self.layout
        closed.windows = []
        #expect(Self.stale(Self.click(300, 200), now: closed) == .windowClosed(id: Self.app.id))

        var moved = Self.layout
        moved.windows[0].frame.origin = Point(x: 400, y: 300)
        #expect(Self.stale(Self.click(300, 200), now: moved)?.kind == "window_moved", "moved away from the point")
        #expect(Self.stale(Self.click(500, 400), now: moved)?.kind == "window_moved", "still under the point, but elsewhere")

        var covered = Self.layout
        covered.windows.append(.init(id: 0x600001, frame: Rect(x: 250, y: 150, width: 200, height: 100)))
        #expect(Self.stale(Self.click(300, 200), now: covered) == .windowCovered(was: Self.app.id, now: 0x600001))
        #expect(Self.stale(Self.click(700, 450), now: covered) == nil, "a window elsewhere does not matter")
        #expect(Self.stale(Self.click(20, 20), now: Self.layout) == nil)
        var onRoot = Self.layout
        onRoot.windows.append(.init(id: 0x700001, frame: Rect(x: 0, y: 0, width: 50, height: 50)))
        #expect(Self.stale(Self.click(20, 20), now: onRoot) == .windowCovered(was: nil, now: 0x700001))

        // Later actions of a step meet what the step's own input opened.
        #expect(Self.stale(Self.click(300, 200), now: covered, firstInStep: false) == nil)
    }

    @Test func keysAndTypingNeedTheSameFocusedWindow() {
        var dialog = Self.layout
        dialog.windows.append(.init(id: 0x600001, frame: Rect(x: 400, y: 250, width: 300, height: 120)))
        dialog.focus = 0x600001
        let reason = Self.stale(Self.typing, now: dialog)
        #expect(reason == .focusMoved(from: Self.app.id, to: 0x600001))
        #expect(reason?.forModel.contains("keyboard focus") == true && reason?.forModel.contains("0x") == false)
        #expect(reason?.description == "the keyboard focus moved from window 0x400001 to 0x600001")
    }

    @Test func thePixelsAroundTheTargetMayBlinkButNotChange() {
        var caret = Self.screenshot
        for y in 190..<210 { caret[302, y] = RGB(hex: 0) }
        #expect(Self.stale(Self.click(300, 200), now: Self.layout, live: caret) == nil, "a 1x20 text cursor")

        var repainted = Self.screenshot
        for y in 190..<212 { for x in 290..<312 { repainted[x, y] = RGB(hex: 0x3060A0) } }
        guard case .pixelsChanged(let changed, let total) = Self.stale(Self.click(300, 200), now: Self.layout, live: repainted) else {
            Issue.record("a repainted target went unnoticed")
            return
        }
        #expect(changed == 22 * 22 && total == 25 * 25)
        #expect(Self.stale(Self.click(900, 600), now: Self.layout, live: repainted) == nil, "a change elsewhere")
    }
}
