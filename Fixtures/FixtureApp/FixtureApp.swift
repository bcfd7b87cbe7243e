import CX11
import Glibc

/// The fixture window: creates and maps it, then logs every event it receives until killed.
final class FixtureApp {
    private let options: Options
    private let log: EventLog
    private let display: OpaquePointer
    private let screen: Int32
    private let root: Window
    private let window: Window
    private let painter: Painter
    private var inputContext: XIC?
    /// `--scenario login`: draws its own screens and reacts to clicks and keys; nil in the basic mode.
    private let login: LoginScenario?

    private var width: Int
    private var height: Int
    private var fieldText = ""
    private var loggedOut = false
    /// The widget button 1 went down on, if any; a release on the same widget completes a click.
    private var pressedWidget: Widget?

    /// Opens the display (or exits 69), creates the window and the input context.
    init(options: Options, log: EventLog) {
        self.options = options
        self.log = log
        FixtureApp.setUpLocale()
        guard let display = XOpenDisplay(options.display) else {
            let name = String(cString: XDisplayName(options.display))
            fail("cannot open X display '\(name)'", status: 69)
        }
        self.display = display
        screen = XDefaultScreen(display)
        root = XRootWindow(display, screen)
        width = options.width
        height = options.height
        window = XCreateSimpleWindow(
            display, root, Int32(options.x), Int32(options.y), UInt32(options.width), UInt32(options.height), 0,
            XBlackPixel(display, screen), XWhitePixel(display, screen))
        painter = Painter(display: display, window: window, screen: screen)
        switch options.scenario {
        case .basic: login = nil
        case .login:
            let loginPainter = LoginPainter(display: display, window: window, painter: painter)
            login = LoginScenario(options: options, painter: loginPainter, log: log)
        }
        setWindowProperties()
        XSelectInput(display, window, cx11_fixture_event_mask)
        inputContext = makeInputContext()
    }

    /// UTF-8 key text needs a UTF-8 locale; the input method is Xlib's built-in one (no XIM server).
    private static func setUpLocale() {
        setlocale(LC_ALL, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        if codeset.uppercased() != "UTF-8" {
            setlocale(LC_ALL, "C.UTF-8")
        }
        XSetLocaleModifiers("@im=none")
    }

    private func makeInputContext() -> XIC? {
        guard let im = XOpenIM(display, nil, nil, nil) else {
            warn("XOpenIM failed; key text falls back to XLookupString (Latin-1)")
            return nil
        }
        guard let ic = cx11_create_input_context(im, window) else {
            warn("XCreateIC failed; key text falls back to XLookupString (Latin-1)")
            return nil
        }
        return ic
    }

    /// WM_NAME, _NET_WM_NAME, WM_CLASS, WM_NORMAL_HINTS with the requested position, WM_HINTS (accepts focus),
    /// _NET_WM_PID.
    private func setWindowProperties() {
        // WM_NAME: STRING when the title is Latin-1, COMPOUND_TEXT otherwise.
        options.title.withCString { title in
            var list: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: title)
            var property = XTextProperty()
            if Xutf8TextListToTextProperty(display, &list, 1, XStdICCTextStyle, &property) >= Success {
                XSetWMName(display, window, &property)
                XFree(property.value)
            }
        }
        let utf8String = XInternAtom(display, "UTF8_STRING", False)
        let netWMName = XInternAtom(display, "_NET_WM_NAME", False)
        let title = Array(options.title.utf8)
        XChangeProperty(
            display, window, netWMName, utf8String, 8, PropModeReplace, title, Int32(title.count))

        if let hints = XAllocSizeHints() {
            hints.pointee.flags = USPosition | PPosition | USSize | PSize
            hints.pointee.x = Int32(options.x)
            hints.pointee.y = Int32(options.y)
            hints.pointee.width = Int32(options.width)
            hints.pointee.height = Int32(options.height)
            XSetWMNormalHints(display, window, hints)
            XFree(hints)
        }
        if let wmHints = XAllocWMHints() {
            wmHints.pointee.flags = InputHint | StateHint
            wmHints.pointee.input = True
            wmHints.pointee.initial_state = NormalState
            XSetWMHints(display, window, wmHints)
            XFree(wmHints)
        }
        if let classHint = XAllocClassHint() {
            "qwen-agent-fixture".withCString { name in
                "QwenAgentFixture".withCString { className in
                    classHint.pointee.res_name = UnsafeMutablePointer(mutating: name)
                    classHint.pointee.res_class = UnsafeMutablePointer(mutating: className)
                    XSetClassHint(display, window, classHint)
                }
            }
            XFree(classHint)
        }
        var pid = UInt(getpid())
        withUnsafeBytes(of: &pid) { bytes in
            let netWMPid = XInternAtom(display, "_NET_WM_PID", False)
            XChangeProperty(
                display, window, netWMPid, Atom(XA_CARDINAL), 32, PropModeReplace,
                bytes.bindMemory(to: UInt8.self).baseAddress, 1)
        }
    }

    // MARK: Running

    /// Maps the window, waits for it to be exposed, draws, focuses it, logs `ready` (and the first `screen` in
    /// `--scenario login`), then loops forever.
    func run() -> Never {
        XMapRaised(display, window)
        var event = XEvent()
        while true {
            XNextEvent(display, &event)
            if event.type == MappingNotify { XRefreshKeyboardMapping(&event.xmapping) }
            if event.type == ConfigureNotify { noteConfigure(event.xconfigure) }
            if event.type == Expose { break }
        }
        redrawAll()
        XSync(display, False)
        if options.focus {
            XSetInputFocus(display, window, RevertToParent, Time(CurrentTime))
            XSync(display, False)
        }
        logReady()
        login?.announceScreen()

        while true {
            XNextEvent(display, &event)
            if XFilterEvent(&event, Window(None)) != 0 { continue }
            handle(&event)
        }
    }

    /// `ready`: the window's root position and size, the pid, the widgets on display and, in `--scenario login`,
    /// `"scenario":"login"`.
    private func logReady() {
        var rootX: Int32 = 0
        var rootY: Int32 = 0
        var child = Window(None)
        XTranslateCoordinates(display, window, root, 0, 0, &rootX, &rootY, &child)
        let widgets = login?.widgets ?? Layout.widgets
        var fields: [(String, JSON)] = [
            ("window", .int(Int(window))), ("x", .int(Int(rootX))), ("y", .int(Int(rootY))),
            ("width", .int(width)), ("height", .int(height)), ("pid", .int(Int(getpid()))),
            ("widgets", .array(widgets.map(\.json))),
        ]
        if login != nil { fields.append(("scenario", .string(Options.Scenario.login.rawValue))) }
        log.record("ready", fields)
    }

    private func handle(_ event: inout XEvent) {
        switch event.type {
        case KeyPress: keyPress(event.xkey)
        case KeyRelease: keyRelease(event.xkey)
        case ButtonPress: button(event.xbutton, pressed: true)
        case ButtonRelease: button(event.xbutton, pressed: false)
        case MotionNotify:
            let motion = event.xmotion
            log.record(
                "motion",
                [
                    ("x", .int(Int(motion.x))), ("y", .int(Int(motion.y))),
                    ("root_x", .int(Int(motion.x_root))), ("root_y", .int(Int(motion.y_root))),
                    ("state", .int(Int(motion.state))), ("time", .int(Int(motion.time))),
                ])
        case FocusIn:
            if let inputContext { XSetICFocus(inputContext) }
            log.record("focus_in")
        case FocusOut:
            if let inputContext { XUnsetICFocus(inputContext) }
            log.record("focus_out")
        case MappingNotify:
            XRefreshKeyboardMapping(&event.xmapping)
            log.record("mapping_notify", [("request", .int(Int(event.xmapping.request)))])
        case Expose:
            if event.xexpose.count == 0 { redrawAll() }
        case ConfigureNotify:
            noteConfigure(event.xconfigure)
        default:
            break
        }
    }

    private func noteConfigure(_ configure: XConfigureEvent) {
        width = Int(configure.width)
        height = Int(configure.height)
    }

    // MARK: Keys

    private func keyPress(_ key: XKeyEvent) {
        var key = key
        var (text, keysym) = lookUp(&key)
        if keysym == 0 { keysym = XLookupKeysym(&key, 0) }
        let name = XKeysymToString(keysym).map { String(cString: $0) }
        log.record(
            "key_press",
            [
                ("keycode", .int(Int(key.keycode))), ("keysym", .int(Int(keysym))),
                ("keysym_name", .optional(name)), ("text", .string(text)),
                ("state", .int(Int(key.state))), ("time", .int(Int(key.time))),
            ])
        if let login {
            login.keyPressed(keysym: keysym, text: text)
            return
        }
        guard !loggedOut else { return }

        var edited = fieldText
        switch keysym {
        case KeySym(XK_Return), KeySym(XK_KP_Enter): edited += "\n"
        case KeySym(XK_BackSpace): if !edited.isEmpty { edited.removeLast() }
        default: if text.isTypable { edited += text }
        }
        guard edited != fieldText else { return }
        fieldText = edited
        painter.drawField(text: fieldText)
        XSync(display, False)
        log.record("field", [("value", .string(fieldText))])
    }

    private func keyRelease(_ key: XKeyEvent) {
        var key = key
        let keysym = XLookupKeysym(&key, 0)
        log.record(
            "key_release",
            [
                ("keycode", .int(Int(key.keycode))), ("keysym", .int(Int(keysym))),
                ("state", .int(Int(key.state))), ("time", .int(Int(key.time))),
            ])
    }

    /// The key's text (UTF-8 through the input context) and keysym (0 when the lookup gave none).
    private func lookUp(_ key: inout XKeyEvent) -> (String, KeySym) {
        var keysym: KeySym = 0
        guard let inputContext else {
            var buffer = [CChar](repeating: 0, count: 64)
            let count = XLookupString(&key, &buffer, Int32(buffer.count), &keysym, nil)
            let text = String(String.UnicodeScalarView(
                buffer.prefix(Int(max(count, 0))).map { Unicode.Scalar(UInt8(bitPattern: $0)) }))
            return (text, keysym)
        }
        var capacity = 64
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            var status: Int32 = 0
            let count = Xutf8LookupString(inputContext, &key, &buffer, Int32(capacity), &keysym, &status)
            if status == XBufferOverflow {
                capacity = Int(count) + 1
                continue
            }
            if status != XLookupKeySym && status != XLookupBoth { keysym = 0 }
            guard status == XLookupChars || status == XLookupBoth else { return ("", keysym) }
            let bytes = buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }
            return (String(decoding: bytes, as: UTF8.self), keysym)
        }
    }

    // MARK: Buttons

    private func button(_ event: XButtonEvent, pressed: Bool) {
        let x = Int(event.x)
        let y = Int(event.y)
        let widget = if let login { login.widget(atX: x, y: y) } else { loggedOut ? nil : Layout.widget(atX: x, y: y) }
        log.record(
            pressed ? "button_press" : "button_release",
            [
                ("button", .int(Int(event.button))), ("x", .int(x)), ("y", .int(y)),
                ("root_x", .int(Int(event.x_root))), ("root_y", .int(Int(event.y_root))),
                ("state", .int(Int(event.state))), ("time", .int(Int(event.time))),
                ("widget", .optional(widget?.name)),
            ])
        guard event.button == UInt32(Button1) else { return }
        if pressed {
            pressedWidget = widget
            login?.pressed(on: widget)
            return
        }
        defer { pressedWidget = nil }
        guard let widget, widget == pressedWidget else { return }
        log.record("clicked", [("widget", .string(widget.name))])
        if let login {
            login.clicked(widget)
        } else if widget.name == Layout.logoutName {
            logOut()
        }
    }

    private func logOut() {
        loggedOut = true
        redrawAll()
        XSync(display, False)
        log.record("logged_out")
    }

    private func redrawAll() {
        if let login {
            login.redraw()
        } else if loggedOut {
            painter.drawLoggedOut(width: width, height: height)
        } else {
            painter.drawNormal(fieldText: fieldText, width: width, height: height)
        }
    }
}

extension String {
    /// Whether this key text types into a field: not empty, and no control characters (C0, DEL, C1).
    var isTypable: Bool {
        !isEmpty && unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }
    }
}
