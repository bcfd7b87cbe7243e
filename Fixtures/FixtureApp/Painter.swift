import Glibc
import CX11

/// Draws the layout into the fixture window with core X requests: solid fills, 1-px borders and text in the
/// default GC font (ASCII only; the event log carries the exact Unicode).
final class Painter {
    private let display: OpaquePointer
    private let window: Window
    private let gc: GC
    private let font: UnsafeMutablePointer<XFontStruct>?
    private let visual: UnsafeMutablePointer<Visual>
    private let colormap: Colormap
    private var pixelCache: [String: UInt] = [:]

    init(display: OpaquePointer, window: Window, screen: Int32) {
        self.display = display
        self.window = window
        gc = XCreateGC(display, window, 0, nil)
        font = XQueryFont(display, XGContextFromGC(gc))
        visual = XDefaultVisual(display, screen)
        colormap = XDefaultColormap(display, screen)
        XSetLineAttributes(display, gc, 0, LineSolid, CapButt, JoinMiter)
        XSetFillStyle(display, gc, FillSolid)
    }

    /// The exact pixel value for `color`: built from the visual's channel masks on TrueColor/DirectColor
    /// visuals, otherwise allocated in the default colormap.
    func pixel(_ color: RGB) -> UInt {
        if let cached = pixelCache[color.hex] { return cached }
        let masks = (visual.pointee.red_mask, visual.pointee.green_mask, visual.pointee.blue_mask)
        var value: UInt
        if masks.0 != 0, masks.1 != 0, masks.2 != 0 {
            value =
                Painter.channel(color.red, mask: masks.0) | Painter.channel(color.green, mask: masks.1)
                | Painter.channel(color.blue, mask: masks.2)
        } else {
            var xcolor = XColor()
            xcolor.red = UInt16(color.red) * 257
            xcolor.green = UInt16(color.green) * 257
            xcolor.blue = UInt16(color.blue) * 257
            xcolor.flags = CChar(DoRed | DoGreen | DoBlue)
            value = XAllocColor(display, colormap, &xcolor) != 0 ? xcolor.pixel : XBlackPixel(display, 0)
        }
        pixelCache[color.hex] = value
        return value
    }

    private static func channel(_ value: UInt8, mask: UInt) -> UInt {
        let shift = mask.trailingZeroBitCount
        let bits = (mask >> UInt(shift)).nonzeroBitCount
        let scaled = bits >= 8 ? UInt(value) << UInt(bits - 8) : UInt(value) >> UInt(8 - bits)
        return (scaled << UInt(shift)) & mask
    }

    // MARK: Whole window

    /// The normal state: white background, swatches, the field with `fieldText`, buttons.
    func drawNormal(fieldText: String, width: Int, height: Int) {
        XSetWindowBackground(display, window, pixel(Layout.background))
        fill(Rect(x: 0, y: 0, width: width, height: height), Layout.background)
        for widget in Layout.widgets {
            switch widget.kind {
            case .swatch: fill(widget.frame, widget.color ?? Layout.background)
            case .field: drawField(text: fieldText)
            case .button:
                fill(widget.frame, Layout.buttonFill)
                outline(widget.frame, Layout.border)
                drawCentred(widget.label ?? "", in: widget.frame, Layout.buttonText)
            case .text, .menuItem: break  // Only in `--scenario login` (LoginPainter).
            }
        }
    }

    /// The logged-out state: the whole window #204080 with "Logged out" in white, centred.
    func drawLoggedOut(width: Int, height: Int) {
        XSetWindowBackground(display, window, pixel(Layout.loggedOutBackground))
        let whole = Rect(x: 0, y: 0, width: width, height: height)
        fill(whole, Layout.loggedOutBackground)
        drawCentred(Layout.loggedOutMessage, in: whole, Layout.loggedOutText)
    }

    /// The text field alone: white fill, black border, the end of `text` that fits.
    func drawField(text: String) {
        let frame = Layout.field.frame
        fill(frame, Layout.fieldFill)
        outline(frame, Layout.border)
        var shown = Painter.ascii(text)
        let room = frame.width - 2 * Layout.fieldPadding
        while !shown.isEmpty, textWidth(shown) > room { shown.removeFirst() }
        draw(shown, x: frame.x + Layout.fieldPadding, baseline: baseline(centredIn: frame), Layout.fieldText)
    }

    // MARK: Primitives

    func fill(_ rect: Rect, _ color: RGB) {
        XSetForeground(display, gc, pixel(color))
        XFillRectangle(display, window, gc, Int32(rect.x), Int32(rect.y), UInt32(rect.width), UInt32(rect.height))
    }

    /// A 1-px border on the inside edge of `rect`.
    func outline(_ rect: Rect, _ color: RGB) {
        XSetForeground(display, gc, pixel(color))
        XDrawRectangle(
            display, window, gc, Int32(rect.x), Int32(rect.y), UInt32(rect.width - 1), UInt32(rect.height - 1))
    }

    private func drawCentred(_ text: String, in rect: Rect, _ color: RGB) {
        let shown = Painter.ascii(text)
        let x = rect.x + (rect.width - textWidth(shown)) / 2
        draw(shown, x: x, baseline: baseline(centredIn: rect), color)
    }

    private func draw(_ text: String, x: Int, baseline: Int, _ color: RGB) {
        guard !text.isEmpty else { return }
        XSetForeground(display, gc, pixel(color))
        text.withCString { chars in
            _ = XDrawString(display, window, gc, Int32(x), Int32(baseline), chars, Int32(strlen(chars)))
        }
    }

    private func textWidth(_ text: String) -> Int {
        guard let font else { return 6 * text.utf8.count }
        return text.withCString { chars in Int(XTextWidth(font, chars, Int32(strlen(chars)))) }
    }

    private func baseline(centredIn rect: Rect) -> Int {
        let ascent = Int(font?.pointee.ascent ?? 10)
        let descent = Int(font?.pointee.descent ?? 3)
        return rect.y + (rect.height + ascent - descent) / 2
    }

    /// Printable ASCII stays, a newline shows as a space, anything else as `?`.
    static func ascii(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar -> Unicode.Scalar in
                    if scalar == "\n" { return " " }
                    return (0x20..<0x7F).contains(scalar.value) ? scalar : "?"
                }))
    }
}
