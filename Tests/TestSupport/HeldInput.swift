import CX11
@testable public import Desktop

/// What the X server itself reports as held down, asked over a test's own connection: the check
/// behind "nothing is left pressed".
public enum HeldInput {
    /// The keycodes down. Corresponding Xlib call: `XQueryKeymap`.
    public static func keys(_ display: Display) -> [Int] {
        var bits = [CChar](repeating: 0, count: 32)
        XQueryKeymap(display.raw, &bits)
        return (0..<256).filter { UInt8(bitPattern: bits[$0 / 8]) & (1 << ($0 % 8)) != 0 }
    }

    /// The button bits of the pointer state (Button1Mask to Button5Mask). Corresponding Xlib call: `XQueryPointer`.
    public static func buttons(_ display: Display) -> UInt32 {
        var root: Window = 0, child: Window = 0
        var rootX: Int32 = 0, rootY: Int32 = 0, x: Int32 = 0, y: Int32 = 0
        var mask: UInt32 = 0
        _ = XQueryPointer(display.raw, display.root, &root, &child, &rootX, &rootY, &x, &y, &mask)
        return mask & 0x1F00
    }
}
