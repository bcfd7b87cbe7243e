internal import CX11
@testable import Keys
import Testing

/// The keysym table Keys carries (generated from the X headers by `scripts/generate-keysyms`) agrees
/// with Xlib's own `XStringToKeysym` and `XKeysymToString`, name by name and value by value.
@Suite("The keysym table agrees with Xlib")
struct XKeysymTableTests {
    static let entries: [(name: String, value: UInt)] = xKeysymNames.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count == 2, let value = UInt(fields[1], radix: 16) else { return nil }
        return (String(fields[0]), value)
    }

    init() { _ = XInitThreads() } // Xlib's rule: first, before any other call (later calls do nothing)

    @Test func everyNameResolvesAsXlibResolvesIt() {
        #expect(Self.entries.count > 2000)
        let differing = Self.entries.filter { XKeysyms.value(named: $0.name) != XStringToKeysym($0.name) }
        #expect(differing.isEmpty, "\(differing.prefix(10))")
    }

    @Test func everyValueIsNamedAsXlibNamesIt() {
        let values = Set(Self.entries.map(\.value)).union([0x0100_20AC, 0x0101_F642, 0x7FFF_0001, 0x61])
        let differing = values.filter { value in XKeysyms.name(of: value) != XKeysymToString(value).map { String(cString: $0) } }
        #expect(differing.isEmpty, "\(differing.prefix(10).map { String($0, radix: 16) })")
    }

    @Test(arguments: ["U20AC", "U00e9", "0xff0d", "XF86_AudioMute", "U110000", "U0007", "Ugh", "kp_enter", "frobnicate", "U"])
    func otherSpellingsAsXlib(name: String) {
        let xlib = XStringToKeysym(name)
        #expect(XKeysyms.value(named: name) == (xlib == UInt(NoSymbol) ? nil : xlib))
    }
}
