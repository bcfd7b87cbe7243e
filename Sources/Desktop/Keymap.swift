import Keys
internal import CX11

/// An X keycode: a physical key as the server numbers it (8...255).
public struct KeyCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public var description: String { "keycode \(rawValue)" }
}

/// Where a keysym sits in the keyboard mapping: its key and whether Shift is needed to reach it.
struct KeyPlacement: Hashable {
    let keycode: KeyCode
    let shifted: Bool
}

/// A snapshot of the server's core keyboard mapping, the facts the typist needs:
/// which key (and shift level) produces a keysym, which keycodes are free to borrow,
/// and which keys are Shift.
struct Keymap {
    let minKeycode: Int
    let keysymsPerKeycode: Int
    /// keysyms[keycode - minKeycode][level].
    let keysyms: [[UInt]]
    let shiftKeycode: KeyCode?
    let spareKeycodes: [KeyCode]
    /// keysym → where it is typed, level 0 preferred over level 1.
    private let placements: [UInt: KeyPlacement]

    /// Reads the mapping. Corresponding Xlib calls: `XDisplayKeycodes`, `XGetKeyboardMapping`, `XGetModifierMapping`.
    init(display: Display) throws(DesktopError) {
        let d = display.raw
        var low: Int32 = 0, high: Int32 = 0
        XDisplayKeycodes(d, &low, &high)
        var perKeycode: Int32 = 0
        let count = Int(high - low + 1)
        guard let map = try display.checked("XGetKeyboardMapping", {
            XGetKeyboardMapping(d, UInt8(low), Int32(count), &perKeycode)
        }) else { throw DesktopError(.protocolError, "the X server returned no keyboard mapping") }
        defer { XFree(map) }
        let width = Int(perKeycode)
        let rows = (0..<count).map { code in (0..<width).map { map[code * width + $0] } }
        keysyms = rows
        minKeycode = Int(low)
        keysymsPerKeycode = width

        var shift: KeyCode?
        if let modifiers = XGetModifierMapping(d) {
            defer { XFreeModifiermap(modifiers) }
            // Row 0 of the modifier map is Shift; take its first real key.
            let perModifier = Int(modifiers.pointee.max_keypermod)
            shift = (0..<perModifier).lazy.map { modifiers.pointee.modifiermap[$0] }.first { $0 != 0 }.map(KeyCode.init)
        }
        shiftKeycode = shift
        let spares = rows.indices.filter { code in rows[code].allSatisfy { $0 == UInt(NoSymbol) } }
        // Keycode 8 is skipped: some clients treat it as invalid.
        spareKeycodes = spares.map { KeyCode(rawValue: UInt8($0 + Int(low))) }.filter { $0.rawValue > 8 }

        var placements: [UInt: KeyPlacement] = [:]
        // Level 1 needs a Shift key to reach it; level 0 wins when a keysym is on both.
        for level in (0..<min(2, width)).reversed() where level == 0 || shift != nil {
            for (index, row) in rows.enumerated().reversed() where row[level] != UInt(NoSymbol) {
                placements[row[level]] = KeyPlacement(keycode: KeyCode(rawValue: UInt8(index + Int(low))), shifted: level == 1)
            }
        }
        self.placements = placements
    }

    /// The key that produces `keysym` at level 0 (plain) or 1 (with Shift).
    func placement(of keysym: Keys.KeySym) -> KeyPlacement? { placements[keysym.rawValue] }
}
