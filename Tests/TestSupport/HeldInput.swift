import CX11
public import Desktop

/// What the X server itself reports as held down, asked over a test's own connection: the check
/// behind "nothing is left pressed".
public enum HeldInput {
    /// The keycodes down. Corresponding Xlib call: `XQueryKeymap`.
    public static func keys(_ display: Display) -> [Int] {
        var bits = [CChar](repeating: 0, count: 32)
        withConnection(to: display) { XQueryKeymap($0, &bits) }
        return (0..<256).filter { UInt8(bitPattern: bits[$0 / 8]) & (1 << ($0 % 8)) != 0 }
    }

    /// The button bits of the pointer state (Button1Mask to Button5Mask). Corresponding Xlib call: `XQueryPointer`.
    public static func buttons(_ display: Display) -> UInt32 {
        var root: Window = 0, child: Window = 0
        var rootX: Int32 = 0, rootY: Int32 = 0, x: Int32 = 0, y: Int32 = 0
        var mask: UInt32 = 0
        withConnection(to: display) { _ = XQueryPointer($0, XDefaultRootWindow($0), &root, &child, &rootX, &rootY, &x, &y, &mask) }
        return mask & 0x1F00
    }

    /// A connection of its own (so TestSupport needs no internals of Desktop, and builds in release).
    private static func withConnection(to display: Display, _ body: (OpaquePointer) -> Void) {
        guard let connection = XOpenDisplay(display.name) else { preconditionFailure("cannot open \(display.name) to check held input") }
        body(connection)
        XCloseDisplay(connection)
    }
}
