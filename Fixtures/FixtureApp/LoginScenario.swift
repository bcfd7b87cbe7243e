import CX11

/// The screens of `--scenario login`.
enum LoginScreen: String, Sendable {
    case login, home
}

/// `--scenario login`: a sign-in form, and a home screen whose avatar opens a menu with Profile and Log out.
///
/// FixtureApp logs the raw events (`button_press`, `key_press`, `clicked`, ...) as in the basic mode and hands
/// them on; this type changes the state, redraws, syncs, and only then logs what changed (`focused`, `field`,
/// `sign_in_failed`, `signed_in`, `menu`, `logged_out`, `screen`), so a test may screenshot as soon as it reads
/// the line.
final class LoginScenario {
    private let log: EventLog
    private let painter: LoginPainter

    private var screen: LoginScreen
    /// The signed-in user (home screen).
    private var user: String
    private var userText = ""
    private var passwordText = ""
    /// The name of the login field that receives typing, if any.
    private var focusedField: String?
    private var showsError = false
    private var menuOpen = false

    init(options: Options, painter: LoginPainter, log: EventLog) {
        self.painter = painter
        self.log = log
        screen = options.start
        user = options.user
    }

    /// Everything visible now, in drawing order: the screen's table, then the error message or the open menu.
    var widgets: [Widget] {
        switch screen {
        case .login: LoginLayout.login + (showsError ? [LoginLayout.error] : [])
        case .home: LoginLayout.home(user: user) + (menuOpen ? LoginLayout.menuItems : [])
        }
    }

    /// The topmost visible widget under a window-coordinate point.
    func widget(atX x: Int, y: Int) -> Widget? {
        widgets.last { $0.frame.contains(x: x, y: y) }
    }

    /// Draws the whole current screen (not synced).
    func redraw() {
        switch screen {
        case .login:
            painter.drawLogin(user: userText, password: passwordText, focused: focusedField, showsError: showsError)
        case .home:
            painter.drawHome(user: user, menuOpen: menuOpen)
        }
    }

    /// Logs `{"event":"screen","name":...,"widgets":[...]}` for the screen on display (drawn and synced).
    func announceScreen() {
        log.record("screen", [("name", .string(screen.rawValue)), ("widgets", .array(widgets.map(\.json)))])
    }

    // MARK: Pointer

    /// Button 1 went down on `widget`: a login field takes the focus; outside the avatar and the menu's items,
    /// the open menu closes.
    func pressed(on widget: Widget?) {
        switch screen {
        case .login:
            if let widget, widget.kind == .field { focus(widget.name) }
        case .home:
            let keepsMenu = widget.map { $0.kind == .menuItem || $0.name == LoginLayout.avatarName } ?? false
            if menuOpen, !keepsMenu { setMenu(open: false) }
        }
    }

    /// Button 1 went down and up on `widget` (FixtureApp has logged `clicked`).
    func clicked(_ widget: Widget) {
        switch widget.name {
        case LoginLayout.signInName: signIn()
        case LoginLayout.avatarName: setMenu(open: !menuOpen)
        case LoginLayout.profileName: setMenu(open: false)
        case LoginLayout.logoutName: logOut()
        default: break
        }
    }

    // MARK: Keys

    /// A key went down (FixtureApp has logged `key_press`); `text` is what it types.
    func keyPressed(keysym: KeySym, text: String) {
        switch (screen, Int32(keysym)) {
        case (.home, XK_Escape):
            if menuOpen { setMenu(open: false) }
        case (.home, _):
            break
        case (.login, XK_Tab), (.login, XK_ISO_Left_Tab):
            focus(focusedField == LoginLayout.userName ? LoginLayout.passwordName : LoginLayout.userName)
        case (.login, XK_Return), (.login, XK_KP_Enter):
            if focusedField == LoginLayout.passwordName { signIn() }
        case (.login, XK_BackSpace):
            edit { if !$0.isEmpty { $0.removeLast() } }
        case (.login, _):
            if text.isTypable { edit { $0 += text } }
        }
    }

    /// Applies `change` to the focused field's text; if it changed, redraws the field and logs `field`.
    private func edit(_ change: (inout String) -> Void) {
        guard let name = focusedField else { return }
        let isPassword = name == LoginLayout.passwordName
        var text = isPassword ? passwordText : userText
        change(&text)
        guard text != (isPassword ? passwordText : userText) else { return }
        if isPassword { passwordText = text } else { userText = text }
        painter.drawField(LoginLayout.loginWidget(name), text: text, focused: true)
        painter.sync()
        var fields: [(String, JSON)] = [("name", .string(name)), ("value", .string(text))]
        if isPassword { fields.append(("masked", .bool(true))) }
        log.record("field", fields)
    }

    // MARK: Changes

    /// Moves the typing focus to the login field `name`; logs `{"event":"focused","widget":name}`.
    private func focus(_ name: String) {
        guard focusedField != name else { return }
        let previous = focusedField
        focusedField = name
        if let previous {
            painter.drawField(LoginLayout.loginWidget(previous), text: text(of: previous), focused: false)
        }
        painter.drawField(LoginLayout.loginWidget(name), text: text(of: name), focused: true)
        painter.sync()
        log.record("focused", [("widget", .string(name))])
    }

    private func text(of field: String) -> String {
        field == LoginLayout.passwordName ? passwordText : userText
    }

    /// Both fields filled: the home screen for the typed user. Otherwise the error message.
    private func signIn() {
        guard !userText.isEmpty, !passwordText.isEmpty else {
            showsError = true
            painter.drawError()
            painter.sync()
            log.record("sign_in_failed", [("reason", "empty")])
            return
        }
        user = userText
        show(.home)
        log.record("signed_in", [("user", .string(user))])
        announceScreen()
    }

    private func logOut() {
        show(.login)
        log.record("logged_out")
        announceScreen()
    }

    /// Opens or closes the avatar menu; logs `menu` (with the items' widgets when it opens).
    private func setMenu(open: Bool) {
        menuOpen = open
        redraw()
        painter.sync()
        var fields: [(String, JSON)] = [("open", .bool(open))]
        if open { fields.append(("widgets", .array(LoginLayout.menuItems.map(\.json)))) }
        log.record("menu", fields)
    }

    /// Switches to `next` with a fresh state (empty fields, no focus, no error, menu closed), drawn and synced.
    private func show(_ next: LoginScreen) {
        screen = next
        userText = ""
        passwordText = ""
        focusedField = nil
        showsError = false
        menuOpen = false
        redraw()
        painter.sync()
    }
}
