/// `--scenario login`: the geometry, colours, words and fonts of its screens — one table per screen, in window
/// pixels, laid out for the default 640x400 window (a bigger window only shows more background).
enum LoginLayout {
    // MARK: Login screen

    static let loginBackground = RGB(0xECECEC)
    static let titleText = RGB(0x000000)
    static let captionText = RGB(0x000000)
    static let fieldFill = RGB(0xFFFFFF)
    static let fieldBorder = RGB(0x000000)
    static let fieldText = RGB(0x000000)
    /// A focused field's border, 2 px wide (an unfocused one is 1 px of `fieldBorder`).
    static let focusBorder = RGB(0x3A7BD5)
    static let buttonFill = RGB(0x3A7BD5)
    static let buttonText = RGB(0xFFFFFF)
    static let errorText = RGB(0xC0392B)
    /// Horizontal padding between a field's border and its text.
    static let fieldPadding = 8
    /// From a field caption's baseline down to the field's top edge.
    static let captionGap = 6

    static let titleName = "title"
    static let userName = "user"
    static let passwordName = "password"
    static let signInName = "signin"
    static let errorName = "error"

    /// The login screen's widgets, in drawing and reporting order; a field's label is its caption, drawn above it.
    static let login: [Widget] = [
        text(titleName, "Sign in", x: 170, y: 60, width: 300, height: 28),
        field(userName, "User", x: 170, y: 130),
        field(passwordName, "Password", x: 170, y: 200),
        button(signInName, "Sign in", x: 170, y: 256, width: 120, height: 36),
    ]

    /// Shown under the form after signing in with an empty field, until the screen changes.
    static let error = text(errorName, "Enter user and password", x: 170, y: 306, width: 300, height: 20)

    // MARK: Home screen

    static let homeBackground = RGB(0xFFFFFF)
    static let bar = Rect(x: 0, y: 0, width: 640, height: 48)
    static let barFill = RGB(0x2E5C8A)
    static let barText = RGB(0xFFFFFF)
    static let avatarFill = RGB(0xF5B041)
    static let avatarText = RGB(0x000000)
    static let bodyText = RGB(0x000000)

    static let welcomeName = "welcome"
    static let avatarName = "avatar"
    static let bodyName = "body"

    /// The home screen's widgets for `user`, in drawing and reporting order (the top bar is drawn first, under
    /// `welcome` and `avatar`; it stretches to the window's width).
    static func home(user: String) -> [Widget] {
        [
            text(welcomeName, "Welcome, \(user)", x: 16, y: 12, width: 560, height: 24),
            button(avatarName, initial(of: user), x: 596, y: 6, width: 36, height: 36),
            text(bodyName, "You are signed in.", x: 16, y: 76, width: 400, height: 24),
        ]
    }

    /// The avatar's letter: the user's first character, upper-cased.
    static func initial(of user: String) -> String {
        user.first.map { String($0).uppercased() } ?? "?"
    }

    // MARK: Avatar menu

    /// The open menu, just below the bar and right-aligned to the window's edge: a 1-px border around the items.
    static let menu = Rect(x: 498, y: 48, width: 142, height: 62)
    static let menuFill = RGB(0xFFFFE0)
    static let menuBorder = RGB(0x000000)
    static let menuText = RGB(0x000000)
    /// Between the items: a hairline across the menu.
    static let menuSeparator = RGB(0xD8D8B0)
    /// Horizontal padding before an item's label.
    static let menuPadding = 12

    static let profileName = "profile"
    static let logoutName = "logout"

    static let menuItems: [Widget] = [
        menuItem(profileName, "Profile", x: 499, y: 49),
        menuItem(logoutName, "Log out", x: 499, y: 79),
    ]

    // MARK: Fonts

    /// Core X font names, tried in order (`fixed` always exists); all are in xfonts-base (9x15, 9x15bold, 9x18B,
    /// 10x20).
    enum Face {
        case regular, bold, large

        var fontNames: [String] {
            switch self {
            case .regular: ["9x15", "fixed"]
            case .bold: ["9x15bold", "9x15", "fixed"]
            case .large: ["-misc-fixed-bold-r-normal--18-120-100-100-c-90-iso8859-1", "10x20", "9x15bold", "fixed"]
            }
        }
    }

    static let titleFace = Face.large
    static let captionFace = Face.regular
    static let fieldFace = Face.regular
    static let buttonFace = Face.bold
    static let errorFace = Face.regular
    static let welcomeFace = Face.bold
    static let avatarFace = Face.large
    static let bodyFace = Face.regular
    static let menuFace = Face.regular

    // MARK: Lookup

    /// The widget called `name` on the login screen.
    static func loginWidget(_ name: String) -> Widget {
        guard let widget = login.first(where: { $0.name == name }) else { fatalError("no login widget \(name)") }
        return widget
    }

    private static func text(_ name: String, _ words: String, x: Int, y: Int, width: Int, height: Int) -> Widget {
        Widget(
            name: name, kind: .text, frame: Rect(x: x, y: y, width: width, height: height), color: nil, label: words)
    }

    private static func field(_ name: String, _ caption: String, x: Int, y: Int) -> Widget {
        Widget(name: name, kind: .field, frame: Rect(x: x, y: y, width: 300, height: 32), color: nil, label: caption)
    }

    private static func button(_ name: String, _ label: String, x: Int, y: Int, width: Int, height: Int) -> Widget {
        .button(name, label, x: x, y: y, width: width, height: height)
    }

    private static func menuItem(_ name: String, _ label: String, x: Int, y: Int) -> Widget {
        Widget(name: name, kind: .menuItem, frame: Rect(x: x, y: y, width: 140, height: 30), color: nil, label: label)
    }
}
