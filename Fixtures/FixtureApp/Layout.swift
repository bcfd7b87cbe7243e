/// The fixture window's geometry and colours: the one place tests and drawing agree on.

/// A 24-bit colour.
struct RGB: Sendable, Equatable {
    let red: UInt8
    let green: UInt8
    let blue: UInt8

    init(_ hex: UInt32) {
        red = UInt8((hex >> 16) & 0xFF)
        green = UInt8((hex >> 8) & 0xFF)
        blue = UInt8(hex & 0xFF)
    }

    /// `#RRGGBB`, upper case.
    var hex: String {
        "#" + [red, green, blue].map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}

/// A rectangle in window coordinates.
struct Rect: Sendable, Equatable {
    let x: Int
    let y: Int
    let width: Int
    let height: Int

    func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < x + width && py >= y && py < y + height
    }
}

/// Something drawn in the window that can be hit by a click.
struct Widget: Sendable, Equatable {
    enum Kind: String, Sendable {
        case swatch, field, button, text
        case menuItem = "menu-item"
    }

    let name: String
    let kind: Kind
    let frame: Rect
    /// Solid fill of a swatch (reported in the `ready` event); buttons and the field use the layout's fills.
    let color: RGB?
    /// Text drawn centred on a button (or the caption of a field, the words of a text, in `--scenario login`).
    let label: String?

    static func swatch(_ name: String, x: Int, y: Int, color: UInt32) -> Widget {
        Widget(
            name: name, kind: .swatch, frame: Rect(x: x, y: y, width: 60, height: 40), color: RGB(color),
            label: nil)
    }

    static func button(_ name: String, _ label: String, x: Int, y: Int, width: Int, height: Int) -> Widget {
        Widget(
            name: name, kind: .button, frame: Rect(x: x, y: y, width: width, height: height), color: nil,
            label: label)
    }
}

enum Layout {
    static let background = RGB(0xFFFFFF)
    static let border = RGB(0x000000)
    static let buttonFill = RGB(0xC0C0C0)
    static let buttonText = RGB(0x000000)
    static let fieldFill = RGB(0xFFFFFF)
    static let fieldText = RGB(0x000000)
    static let loggedOutBackground = RGB(0x204080)
    static let loggedOutText = RGB(0xFFFFFF)
    static let loggedOutMessage = "Logged out"
    /// Horizontal padding between the field's border and its text.
    static let fieldPadding = 6

    static let fieldName = "field"
    static let logoutName = "logout"

    /// Every widget, in drawing and reporting order.
    static let widgets: [Widget] = [
        .swatch("red", x: 20, y: 20, color: 0xFF0000),
        .swatch("green", x: 90, y: 20, color: 0x00FF00),
        .swatch("blue", x: 160, y: 20, color: 0x0000FF),
        .swatch("navy", x: 230, y: 20, color: 0x123456),
        Widget(
            name: fieldName, kind: .field, frame: Rect(x: 20, y: 100, width: 600, height: 32), color: nil,
            label: nil),
        .button("ok", "OK", x: 20, y: 300, width: 100, height: 40),
        .button("cancel", "Cancel", x: 140, y: 300, width: 100, height: 40),
        .button(logoutName, "Log out", x: 520, y: 20, width: 100, height: 32),
    ]

    static var field: Widget { widgets.first { $0.kind == .field }! }

    /// The topmost widget under a window-coordinate point (widgets do not overlap).
    static func widget(atX x: Int, y: Int) -> Widget? {
        widgets.last { $0.frame.contains(x: x, y: y) }
    }
}
