/// X keysym names and values without Xlib: the generated ``xKeysymNames`` table plus the rules
/// `XStringToKeysym` and `XKeysymToString` add to it (`U20AC`, `0xff0d`, `XF86_…`).
/// DesktopTests checks both directions against Xlib for every name.
enum XKeysyms {
    private static let table: (values: [String: UInt], names: [UInt: String]) = {
        var values: [String: UInt] = [:]
        var names: [UInt: String] = [:]
        for line in xKeysymNames.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let value = UInt(fields[1], radix: 16) else { continue }
            // Xlib keeps the first of a repeated name (HPkeysym.h redefines one) and a value's first name.
            if values[String(fields[0])] == nil { values[String(fields[0])] = value }
            if names[value] == nil { names[value] = String(fields[0]) }
        }
        return (values, names)
    }()

    /// The keysym `name` stands for, case-sensitively, or nil.
    static func value(named name: String) -> UInt? {
        if let value = table.values[name] { return value }
        if name.hasPrefix("U"), name.count > 1 { return unicodeKeysym(hex: name.dropFirst()) }
        if name.hasPrefix("0x") || name.hasPrefix("0X"), name.count > 2 { return UInt(name.dropFirst(2), radix: 16) }
        // Some XF86 names were once written with an underscore after the prefix.
        if name.hasPrefix("XF86_") { return value(named: "XF86" + name.dropFirst(5)) }
        return nil
    }

    /// The X name of `value`: its first name in the headers, or `U+hex` for a Unicode keysym.
    static func name(of value: UInt) -> String? {
        if let name = table.names[value] { return name }
        guard (0x0100_0100...0x0110_FFFF).contains(value) else { return nil }
        let code = value & 0xFF_FFFF
        let digits = String(code, radix: 16, uppercase: true)
        return "U" + String(repeating: "0", count: max(0, (code > 0xFFFF ? 8 : 4) - digits.count)) + digits
    }

    /// `U` followed by a code point in hex: Latin-1 code points are their own keysyms, others are offset.
    private static func unicodeKeysym(hex: Substring) -> UInt? {
        guard hex.allSatisfy(\.isHexDigit), let code = UInt(hex, radix: 16), code <= 0x10_FFFF else { return nil }
        if code < 0x20 || (0x7F..<0xA0).contains(code) { return nil }
        return code < 0x100 ? code : code | 0x0100_0000
    }
}
