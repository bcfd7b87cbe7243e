import Desktop
import Testing

@Suite("Key names and chords as models write them")
struct KeyNamesTests {
    @Test(arguments: [("ctrl+shift+t", ["ctrl", "shift", "t"]), ("enter", ["enter"]), ("ctrl++", ["ctrl", "+"]),
                      ("+", ["+"]), ("alt+F4", ["alt", "F4"]), ("super+é", ["super", "é"])])
    func chordsSplitOnPlus(text: String, keys: [String]) throws {
        #expect(try KeyChord(parsing: text).keys == keys)
    }

    @Test func emptyChordIsAnError() {
        #expect(throws: DesktopError.self) { try KeyChord(parsing: "") }
    }

    @Test(arguments: [("Ctrl", "Control_L"), ("ESC", "Escape"), ("pagedown", "Next"), ("PgUp", "Prior"), ("win", "Super_L"),
                      ("f12", "F12"), ("F24", "F24"), ("return", "Return"), ("KP_Enter", "KP_Enter"), ("a", "a"), ("A", "A"),
                      ("é", "eacute"), ("space", "space"), ("plus", "plus")])
    func namesResolveToKeysyms(name: String, keysym: String) throws {
        #expect(try #require(KeyNames.keysym(for: name)).description == keysym)
    }

    @Test func unknownNamesResolveToNothing() {
        #expect(KeyNames.keysym(for: "frobnicate") == nil)
        #expect(KeyNames.keysym(for: "") == nil)
    }

    @Test func charactersMapToLatin1OrUnicodeKeysyms() {
        #expect(KeySym(character: "a")?.rawValue == 0x61)
        #expect(KeySym(character: "ß")?.rawValue == 0xDF)
        #expect(KeySym(character: "世")?.rawValue == 0x0100_4E16)
        #expect(KeySym(character: "🙂")?.rawValue == 0x0101_F642)
        #expect(KeySym(character: "\n")?.description == "Return")
        #expect(KeySym(character: "\u{07}") == nil)
    }
}
