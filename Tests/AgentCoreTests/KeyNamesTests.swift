import Keys
import Testing

@Suite("Key names and chords as models write them")
struct KeyNamesTests {
    @Test(arguments: [("ctrl+shift+t", ["ctrl", "shift", "t"]), ("enter", ["enter"]), ("ctrl++", ["ctrl", "+"]),
                      ("+", ["+"]), ("alt+F4", ["alt", "F4"]), ("super+é", ["super", "é"])])
    func chordsSplitOnPlus(text: String, keys: [String]) throws {
        #expect(try KeyChord(parsing: text).keys == keys)
    }

    @Test func emptyChordIsAnError() {
        #expect(throws: KeyChordError.self) { try KeyChord(parsing: "") }
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

@Suite("X keysym names without Xlib")
struct XKeysymNameTests {
    @Test(arguments: [("U20AC", 0x0100_20AC), ("U00e9", 0xE9), ("U1F642", 0x0101_F642), ("0xff0d", 0xFF0D), ("XF86_AudioMute", 0x1008_FF12),
                      ("XF86AudioMute", 0x1008_FF12), ("KP_Enter", 0xFF8D), ("Hangul", 0xFF31)])
    func namesXlibAcceptsResolve(name: String, value: UInt) throws {
        #expect(try #require(KeyNames.keysym(for: name)).rawValue == value)
    }

    @Test(arguments: ["U110000", "U0007", "U0085", "Ugh", "kp_enter", "0x", "Submit"])
    func namesXlibRejectsDoNotResolve(name: String) {
        #expect(KeyNames.keysym(for: name) == nil)
    }

    @Test func keysymsPrintAsXNamesThenUnicodeThenHex() {
        #expect(KeySym(rawValue: 0xFF0D).description == "Return")
        #expect(KeySym(rawValue: 0x0100_4E16).description == "U4E16")
        #expect(KeySym(rawValue: 0x0101_F642).description == "U0001F642")
        #expect(KeySym(rawValue: 0x7FFF_0001).description == "0x7fff0001")
    }

    @Test func modifiersByAnySpelling() throws {
        #expect(Modifier(keyName: "control") == .ctrl && Modifier(keyName: "win") == .super && Modifier(keyName: "ralt") == .alt)
        #expect(Modifier(keyName: "meta") == .alt && Modifier(keyName: "a") == nil && Modifier(keyName: "enter") == nil)
        #expect(Modifier.isModifierKey(try #require(KeyNames.keysym(for: "capslock"))))
        #expect(Modifier.isModifierKey(try #require(KeyNames.keysym(for: "altgr"))))
        #expect(!Modifier.isModifierKey(try #require(KeyNames.keysym(for: "tab"))))
    }

    @Test func demonstrationsNameKeysAsModelsWriteThem() throws {
        #expect(KeyNames.name(for: try #require(KeyNames.keysym(for: "Control_L"))) == "ctrl")
        #expect(KeyNames.name(for: try #require(KeyNames.keysym(for: "Next"))) == "pagedown")
        #expect(KeyNames.name(for: KeySym(rawValue: 0x61)) == "a")
        #expect(KeyNames.name(for: try #require(KeyNames.keysym(for: "KP_Enter"))) == "KP_Enter")
    }
}
