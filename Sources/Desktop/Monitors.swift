internal import CX11
public import Imaging
import Logging

/// One monitor of the X screen, as RandR 1.5 reports it (also layouts made with `xrandr --setmonitor`).
public struct Monitor: Hashable, Sendable, CustomStringConvertible {
    /// The RandR monitor name, e.g. "HDMI-1", "screen", or the name given to `xrandr --setmonitor`.
    public let name: String
    /// Position and size in root-window pixels.
    public let bounds: Rect
    public let isPrimary: Bool

    public init(name: String, bounds: Rect, isPrimary: Bool) {
        self.name = name
        self.bounds = bounds
        self.isPrimary = isPrimary
    }

    public var description: String { "\(name) \(bounds)\(isPrimary ? " primary" : "")" }
}

extension Display {
    /// The active monitors, in RandR order.
    ///
    /// Corresponding Xlib call: `XRRGetMonitors` (RandR 1.5). Without RandR 1.5 the whole screen is one
    /// monitor named "screen".
    public func monitors() throws(DesktopError) -> [Monitor] {
        var eventBase: Int32 = 0, errorBase: Int32 = 0, major: Int32 = 0, minor: Int32 = 0
        guard XRRQueryExtension(raw, &eventBase, &errorBase) != 0, XRRQueryVersion(raw, &major, &minor) != 0,
              major > 1 || (major == 1 && minor >= 5)
        else {
            logger.debug("RandR 1.5 missing; using the whole screen as one monitor")
            return [Monitor(name: "screen", bounds: try screenBounds(), isPrimary: true)]
        }
        var count: Int32 = 0
        guard let list = try checked("XRRGetMonitors", { XRRGetMonitors(raw, root, 1, &count) }) else {
            throw DesktopError(.protocolError, "RandR did not return the monitor list")
        }
        defer { XRRFreeMonitors(list) }
        return (0..<Int(count)).map { i in
            let info = list[i]
            let atomName = XGetAtomName(raw, info.name)
            defer { if let atomName { XFree(atomName) } }
            return Monitor(
                name: atomName.map { String(cString: $0) } ?? "monitor-\(i)",
                bounds: Rect(x: Int(info.x), y: Int(info.y), width: Int(info.width), height: Int(info.height)),
                isPrimary: info.primary != 0)
        }
    }

    /// The monitor called `name`; the error lists the ones that exist.
    public func monitor(named name: String) throws(DesktopError) -> Monitor {
        let all = try monitors()
        guard let found = all.first(where: { $0.name == name }) else {
            throw DesktopError(
                .invalidArgument,
                "no monitor named '\(name)' on display \(self.name); monitors: \(all.map(\.name).joined(separator: ", "))")
        }
        return found
    }
}
