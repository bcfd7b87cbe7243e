import CX11
import Glibc

/// Draws the screens of `--scenario login` (LoginLayout) with core X requests: fills and borders through the
/// basic Painter, text in misc-fixed fonts through a GC of its own (ASCII only; the event log carries the exact
/// Unicode).
final class LoginPainter {
    private let display: OpaquePointer
    private let window: Window
    private let painter: Painter
    private let gc: GC
    private var typefaces: [LoginLayout.Face: Typeface] = [:]

    init(display: OpaquePointer, window: Window, painter: Painter) {
        self.display = display
        self.window = window
        self.painter = painter
        gc = XCreateGC(display, window, 0, nil)
    }

    /// Waits until the X server has drawn everything requested so far.
    func sync() {
        XSync(display, False)
    }

    // MARK: Screens

    /// The login screen: title, captioned fields with their text (the password as one `*` per character), the
    /// Sign in button and, if `showsError`, the error message.
    func drawLogin(user: String, password: String, focused: String?, showsError: Bool) {
        fillWindow(LoginLayout.loginBackground)
        for widget in LoginLayout.login {
            switch widget.name {
            case LoginLayout.titleName:
                drawText(widget.label ?? "", in: widget.frame, LoginLayout.titleFace, LoginLayout.titleText)
            case LoginLayout.userName, LoginLayout.passwordName:
                let face = typeface(LoginLayout.captionFace)
                draw(
                    widget.label ?? "", x: widget.frame.x, baseline: widget.frame.y - LoginLayout.captionGap, face,
                    LoginLayout.captionText)
                let text = widget.name == LoginLayout.userName ? user : password
                drawField(widget, text: text, focused: widget.name == focused)
            default:
                drawButton(widget, fill: LoginLayout.buttonFill, LoginLayout.buttonFace, LoginLayout.buttonText)
            }
        }
        if showsError { drawError() }
    }

    /// One login field alone: white, a 1-px black border (2 px blue when focused), the end of its text that fits.
    func drawField(_ field: Widget, text: String, focused: Bool) {
        let frame = field.frame
        painter.fill(frame, LoginLayout.fieldFill)
        if focused {
            painter.outline(frame, LoginLayout.focusBorder)
            painter.outline(
                Rect(x: frame.x + 1, y: frame.y + 1, width: frame.width - 2, height: frame.height - 2),
                LoginLayout.focusBorder)
        } else {
            painter.outline(frame, LoginLayout.fieldBorder)
        }
        let shown = field.name == LoginLayout.passwordName ? String(repeating: "*", count: text.count) : text
        let padded = Rect(
            x: frame.x + LoginLayout.fieldPadding, y: frame.y, width: frame.width - 2 * LoginLayout.fieldPadding,
            height: frame.height)
        drawText(shown, in: padded, LoginLayout.fieldFace, LoginLayout.fieldText, keepEnd: true)
    }

    /// The "Enter user and password" message in red.
    func drawError() {
        let error = LoginLayout.error
        drawText(error.label ?? "", in: error.frame, LoginLayout.errorFace, LoginLayout.errorText)
    }

    /// The home screen for `user`: white, the top bar with the welcome text and the avatar, the body text and,
    /// if `menuOpen`, the avatar menu on top.
    func drawHome(user: String, menuOpen: Bool) {
        fillWindow(LoginLayout.homeBackground)
        let bar = LoginLayout.bar
        let width = max(bar.width, windowWidth())
        painter.fill(Rect(x: bar.x, y: bar.y, width: width, height: bar.height), LoginLayout.barFill)
        for widget in LoginLayout.home(user: user) {
            switch widget.name {
            case LoginLayout.welcomeName:
                drawText(widget.label ?? "", in: widget.frame, LoginLayout.welcomeFace, LoginLayout.barText)
            case LoginLayout.avatarName:
                drawButton(widget, fill: LoginLayout.avatarFill, LoginLayout.avatarFace, LoginLayout.avatarText)
            default:
                drawText(widget.label ?? "", in: widget.frame, LoginLayout.bodyFace, LoginLayout.bodyText)
            }
        }
        if menuOpen { drawMenu() }
    }

    private func drawMenu() {
        let menu = LoginLayout.menu
        painter.fill(menu, LoginLayout.menuFill)
        painter.outline(menu, LoginLayout.menuBorder)
        for (index, item) in LoginLayout.menuItems.enumerated() {
            if index > 0 {
                painter.fill(
                    Rect(x: item.frame.x + 4, y: item.frame.y, width: item.frame.width - 8, height: 1),
                    LoginLayout.menuSeparator)
            }
            let padded = Rect(
                x: item.frame.x + LoginLayout.menuPadding, y: item.frame.y,
                width: item.frame.width - LoginLayout.menuPadding, height: item.frame.height)
            drawText(item.label ?? "", in: padded, LoginLayout.menuFace, LoginLayout.menuText)
        }
    }

    // MARK: Pieces

    private func fillWindow(_ color: RGB) {
        XSetWindowBackground(display, window, painter.pixel(color))
        XClearWindow(display, window)
    }

    private func windowWidth() -> Int {
        var attributes = XWindowAttributes()
        XGetWindowAttributes(display, window, &attributes)
        return Int(attributes.width)
    }

    /// A filled button with its label centred.
    private func drawButton(_ widget: Widget, fill: RGB, _ face: LoginLayout.Face, _ color: RGB) {
        painter.fill(widget.frame, fill)
        let font = typeface(face)
        let label = Painter.ascii(widget.label ?? "")
        let x = widget.frame.x + (widget.frame.width - font.width(label)) / 2
        draw(label, x: x, baseline: font.baseline(centredIn: widget.frame), font, color)
    }

    /// `text` left-aligned in `rect`, centred vertically; what does not fit is cut at the end (or at the start
    /// when `keepEnd`, as a field scrolls to show the caret).
    private func drawText(
        _ text: String, in rect: Rect, _ face: LoginLayout.Face, _ color: RGB, keepEnd: Bool = false
    ) {
        let font = typeface(face)
        var shown = Painter.ascii(text)
        while !shown.isEmpty, font.width(shown) > rect.width {
            if keepEnd { shown.removeFirst() } else { shown.removeLast() }
        }
        draw(shown, x: rect.x, baseline: font.baseline(centredIn: rect), font, color)
    }

    private func draw(_ text: String, x: Int, baseline: Int, _ font: Typeface, _ color: RGB) {
        guard !text.isEmpty else { return }
        XSetForeground(display, gc, painter.pixel(color))
        if let info = font.info { XSetFont(display, gc, info.pointee.fid) }
        text.withCString { chars in
            _ = XDrawString(display, window, gc, Int32(x), Int32(baseline), chars, Int32(strlen(chars)))
        }
    }

    private func typeface(_ face: LoginLayout.Face) -> Typeface {
        if let loaded = typefaces[face] { return loaded }
        let loaded = Typeface(display: display, names: face.fontNames)
        typefaces[face] = loaded
        return loaded
    }
}

/// A core X font, loaded once, and its metrics; without one (no `fixed` on the server?) the GC's default font
/// is used with estimated metrics.
private struct Typeface {
    let info: UnsafeMutablePointer<XFontStruct>?

    init(display: OpaquePointer, names: [String]) {
        info = names.lazy.compactMap { name in name.withCString { XLoadQueryFont(display, $0) } }.first
    }

    func width(_ text: String) -> Int {
        guard let info else { return 6 * text.utf8.count }
        return text.withCString { chars in Int(XTextWidth(info, chars, Int32(strlen(chars)))) }
    }

    func baseline(centredIn rect: Rect) -> Int {
        let ascent = Int(info?.pointee.ascent ?? 10)
        let descent = Int(info?.pointee.descent ?? 3)
        return rect.y + (rect.height + ascent - descent) / 2
    }
}
