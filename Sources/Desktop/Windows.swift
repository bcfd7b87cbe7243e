internal import CX11
public import Imaging

/// Facts about top-level windows, for safety checks (`--only-window`) and for sessions.
extension Display {
    /// The `WM_CLASS` class of the window under a root-window point (the top-level window that
    /// contains it, or a window inside it that carries the property), or nil over the bare root.
    ///
    /// Corresponding Xlib calls: `XTranslateCoordinates`, `XGetClassHint`, `XQueryTree`.
    public func windowClass(at point: Point) -> String? {
        var child: UInt = 0
        var x: Int32 = 0, y: Int32 = 0
        XTranslateCoordinates(raw, root, root, Int32(point.x), Int32(point.y), &x, &y, &child)
        return child == 0 ? nil : windowClass(of: child, depth: 3)
    }

    /// The `WM_CLASS` class of the window with the keyboard focus, or nil (root, PointerRoot, none).
    ///
    /// Corresponding Xlib call: `XGetInputFocus`.
    public func focusedWindowClass() -> String? {
        var focus: UInt = 0
        var revert: Int32 = 0
        XGetInputFocus(raw, &focus, &revert)
        // PointerRoot (1) and None (0): the focus follows the pointer or nothing has it.
        guard focus > 1, focus != root else {
            let pointer = pointerRootPosition()
            return pointer.flatMap { windowClass(at: $0) }
        }
        return windowClass(of: focus, depth: 3) ?? ancestorClass(of: focus)
    }

    private func windowClass(of window: UInt, depth: Int) -> String? {
        var hint = XClassHint()
        if XGetClassHint(raw, window, &hint) != 0 {
            defer {
                if let name = hint.res_name { XFree(name) }
                if let name = hint.res_class { XFree(name) }
            }
            if let name = hint.res_class { return String(cString: name) }
        }
        guard depth > 0 else { return nil }
        for child in children(of: window) {
            if let found = windowClass(of: child, depth: depth - 1) { return found }
        }
        return nil
    }

    private func ancestorClass(of window: UInt) -> String? {
        var current = window
        for _ in 0..<8 {
            var rootReturn: UInt = 0, parent: UInt = 0
            var list: UnsafeMutablePointer<UInt>?
            var count: UInt32 = 0
            guard XQueryTree(raw, current, &rootReturn, &parent, &list, &count) != 0 else { return nil }
            if let list { XFree(list) }
            guard parent != 0, parent != root else { return nil }
            if let found = windowClass(of: parent, depth: 0) { return found }
            current = parent
        }
        return nil
    }

    private func children(of window: UInt) -> [UInt] {
        var rootReturn: UInt = 0, parent: UInt = 0
        var list: UnsafeMutablePointer<UInt>?
        var count: UInt32 = 0
        guard XQueryTree(raw, window, &rootReturn, &parent, &list, &count) != 0, let list else { return [] }
        defer { XFree(list) }
        return (0..<Int(count)).map { list[$0] }
    }

    /// Where the pointer is, in root pixels (nil when it is on another screen). Corresponding Xlib call: `XQueryPointer`.
    public func pointerRootPosition() -> Point? {
        var rootReturn: UInt = 0, child: UInt = 0
        var rootX: Int32 = 0, rootY: Int32 = 0, winX: Int32 = 0, winY: Int32 = 0
        var mask: UInt32 = 0
        guard XQueryPointer(raw, root, &rootReturn, &child, &rootX, &rootY, &winX, &winY, &mask) != 0 else { return nil }
        return Point(x: Int(rootX), y: Int(rootY))
    }
}

/// A top-level window: its id and where it is, border included, in root-window pixels.
public struct TopLevelWindow: Sendable, Equatable {
    public let id: UInt
    public let frame: Rect
}

extension Display {
    /// The viewable children of the root window, bottom to top (with a window manager, its frames).
    /// A window that goes away while they are read is left out.
    ///
    /// Corresponding Xlib calls: `XQueryTree`, `XGetWindowAttributes`.
    public func topLevelWindows() -> [TopLevelWindow] {
        children(of: root).compactMap { window in
            var attributes = XWindowAttributes()
            guard (try? checkedReply("XGetWindowAttributes", { XGetWindowAttributes(raw, window, &attributes) })) ?? 0 != 0,
                  attributes.map_state == IsViewable
            else { return nil }
            let border = Int(attributes.border_width)
            return TopLevelWindow(id: window, frame: Rect(x: Int(attributes.x), y: Int(attributes.y),
                                                         width: Int(attributes.width) + 2 * border, height: Int(attributes.height) + 2 * border))
        }
    }

    /// The top-level window (child of the root) that holds the keyboard focus, or nil when none does
    /// or the focus follows the pointer.
    ///
    /// Corresponding Xlib calls: `XGetInputFocus`, `XQueryTree`.
    public func focusedTopLevelWindow() -> UInt? {
        var focus: UInt = 0
        var revert: Int32 = 0
        XGetInputFocus(raw, &focus, &revert)
        // None (0) and PointerRoot (1).
        guard focus > 1, focus != root else { return nil }
        var current = focus
        for _ in 0..<16 {
            var rootReturn: UInt = 0, parent: UInt = 0
            var list: UnsafeMutablePointer<UInt>?
            var count: UInt32 = 0
            guard (try? checkedReply("XQueryTree", { XQueryTree(raw, current, &rootReturn, &parent, &list, &count) })) ?? 0 != 0 else { return nil }
            if let list { XFree(list) }
            if parent == root || parent == 0 { return current }
            current = parent
        }
        return nil
    }
}
