/// Key names as models and people write them (`"ctrl"`, `"enter"`, `"pagedown"`, `"F5"`), resolved to
/// X keysyms. This table is the one place those spellings live; README.md documents it.
///
/// A name resolves, in order: (1) this table, case-insensitively; (2) a single character, to the
/// keysym of that character (`"a"`, `"/"`, `"é"`); (3) an X keysym name, case-sensitively
/// (`"KP_Enter"`, `"XF86AudioMute"`). Anything else is an error that names the key.
public enum KeyNames {
    /// Lower-case name → X keysym name.
    public static let table: [(names: [String], keysym: String)] = [
        (["ctrl", "control", "ctl", "lctrl", "control_l"], "Control_L"),
        (["rctrl", "control_r"], "Control_R"),
        (["shift", "lshift", "shift_l"], "Shift_L"),
        (["rshift", "shift_r"], "Shift_R"),
        (["alt", "lalt", "option", "meta", "alt_l"], "Alt_L"),
        (["ralt", "alt_r"], "Alt_R"),
        (["altgr"], "ISO_Level3_Shift"),
        (["super", "win", "windows", "cmd", "command", "logo", "super_l"], "Super_L"),
        (["super_r", "rsuper"], "Super_R"),
        (["enter", "return", "ret"], "Return"),
        (["esc", "escape"], "Escape"),
        (["tab"], "Tab"),
        (["space", "spacebar"], "space"),
        (["backspace", "back_space", "bksp"], "BackSpace"),
        (["delete", "del"], "Delete"),
        (["insert", "ins"], "Insert"),
        (["home"], "Home"),
        (["end"], "End"),
        (["pageup", "page_up", "pgup", "prior"], "Prior"),
        (["pagedown", "page_down", "pgdn", "next"], "Next"),
        (["up", "arrowup", "up_arrow"], "Up"),
        (["down", "arrowdown", "down_arrow"], "Down"),
        (["left", "arrowleft", "left_arrow"], "Left"),
        (["right", "arrowright", "right_arrow"], "Right"),
        (["capslock", "caps_lock", "caps"], "Caps_Lock"),
        (["numlock", "num_lock"], "Num_Lock"),
        (["scrolllock", "scroll_lock"], "Scroll_Lock"),
        (["printscreen", "print", "prtsc", "prtscr", "print_screen"], "Print"),
        (["pause", "break"], "Pause"),
        (["menu", "apps", "contextmenu"], "Menu"),
        (["plus"], "plus"),
        (["minus"], "minus"),
        (["volumeup", "volume_up"], "XF86AudioRaiseVolume"),
        (["volumedown", "volume_down"], "XF86AudioLowerVolume"),
        (["mute", "volumemute", "volume_mute"], "XF86AudioMute"),
    ] + (1...24).map { (["f\($0)"], "F\($0)") }

    private static let lookup: [String: String] = {
        var map: [String: String] = [:]
        for entry in table { for name in entry.names { map[name] = entry.keysym } }
        return map
    }()

    /// The name a model would write for a keysym: the table's first spelling, the character itself,
    /// or the X keysym name.
    public static func name(for keysym: KeySym) -> String {
        if let entry = table.first(where: { XKeysyms.value(named: $0.keysym) == keysym.rawValue }) { return entry.names[0] }
        if let character = keysym.character { return String(Character(character)) }
        return keysym.description
    }

    /// The keysym for a key name, or nil when the name means nothing.
    public static func keysym(for name: String) -> KeySym? {
        if let xName = lookup[name.lowercased()] { return XKeysyms.value(named: xName).map(KeySym.init(rawValue:)) }
        if name.unicodeScalars.count == 1, let scalar = name.unicodeScalars.first {
            return KeySym(character: scalar)
        }
        return XKeysyms.value(named: name).map(KeySym.init(rawValue:))
    }
}

/// The modifier keys of a chord, in one place: the name a model writes for each (Desktop adds its X modifier bit).
public enum Modifier: String, CaseIterable, Sendable {
    case ctrl, shift, alt, `super`

    /// The modifier a key name means, by any spelling of the key-name table ("control", "win", "ralt"…).
    public init?(keyName: String) {
        guard let keysym = KeyNames.keysym(for: keyName), let modifier = Self.byKeysym[keysym.rawValue] else { return nil }
        self = modifier
    }

    private static let byKeysym: [UInt: Modifier] = Dictionary(uniqueKeysWithValues: [
        ("Control_L", .ctrl), ("Control_R", .ctrl), ("Shift_L", .shift), ("Shift_R", .shift), ("Alt_L", .alt), ("Alt_R", .alt),
        ("Meta_L", .alt), ("Meta_R", .alt), ("Super_L", .super), ("Super_R", .super),
    ].compactMap { name, modifier in XKeysyms.value(named: name).map { ($0, modifier) } })

    private static let lockingKeysyms = ["ISO_Level3_Shift", "Caps_Lock", "Num_Lock"].compactMap(XKeysyms.value(named:))

    /// Keys that only change what other keys type: the modifiers, AltGr, Caps Lock and Num Lock.
    public static func isModifierKey(_ keysym: KeySym) -> Bool {
        byKeysym[keysym.rawValue] != nil || lockingKeysyms.contains(keysym.rawValue)
    }
}

/// An X keysym: the symbol on a key, independent of which keycode carries it.
public struct KeySym: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// The keysym that types `character`: Latin-1 keysyms equal their code point, control
    /// characters map to their keys, and everything else uses the Unicode keysym `0x01000000 + U`.
    public init?(character: Unicode.Scalar) {
        switch character.value {
        case 0x0A, 0x0D: rawValue = 0xFF0D // Return
        case 0x09: rawValue = 0xFF09 // Tab
        case 0x08: rawValue = 0xFF08 // BackSpace
        case 0x1B: rawValue = 0xFF1B // Escape
        case 0x7F: rawValue = 0xFFFF // Delete
        case 0x20...0x7E, 0xA0...0xFF: rawValue = UInt(character.value)
        case 0x00...0x1F, 0x80...0x9F: return nil
        default: rawValue = 0x0100_0000 + UInt(character.value)
        }
    }

    /// The character this keysym types, for the keysyms that have one by rule (Latin-1 and Unicode keysyms).
    public var character: Unicode.Scalar? {
        switch rawValue {
        case 0x20...0x7E, 0xA0...0xFF: Unicode.Scalar(UInt32(rawValue))
        case 0x0100_0100...0x0110_FFFF: Unicode.Scalar(UInt32(rawValue - 0x0100_0000))
        default: nil
        }
    }

    /// The X name (as `XKeysymToString` gives it), or hex when it has none.
    public var description: String {
        XKeysyms.name(of: rawValue) ?? "0x" + String(rawValue, radix: 16)
    }
}

/// A key chord such as `ctrl+shift+t`: keys pressed in order and released in reverse.
public struct KeyChord: Hashable, Sendable, CustomStringConvertible {
    /// The key names as given, e.g. `["ctrl", "shift", "t"]`.
    public let keys: [String]

    public init(keys: [String]) { self.keys = keys }

    /// Parses `ctrl+shift+t` (`+` separates keys; `ctrl++` and a lone `+` mean the plus key).
    public init(parsing text: String) throws(KeyChordError) {
        var keys: [String] = []
        var current = ""
        for character in text {
            if character == "+", !current.isEmpty {
                keys.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { keys.append(current) }
        guard !keys.isEmpty else {
            throw KeyChordError(message: "'\(text)' is not a key chord (write keys joined by '+', e.g. ctrl+shift+t)")
        }
        self.keys = keys
    }

    public var description: String { keys.joined(separator: "+") }
}

/// Text that is not a key chord, in one line that says how to write one.
public struct KeyChordError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
