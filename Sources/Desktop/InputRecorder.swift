public import Keys
internal import CX11
import Foundation
import Glibc
public import Imaging
import Synchronization

/// One pointer or keyboard event as the X server saw it, recorded with the RECORD extension.
public struct RawInputEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case keyPress, keyRelease, buttonPress, buttonRelease, motion
    }

    public let kind: Kind
    /// The button number (1–7), or the keycode.
    public let detail: UInt8
    /// Server time in milliseconds.
    public let time: UInt32
    public let root: Point
    /// Modifier and button state before the event (X's `state` field).
    public let state: UInt16
    /// For keys: the keysym on level 0 and level 1 of the key at the time of recording.
    public let keysyms: (plain: Keys.KeySym?, shifted: Keys.KeySym?)

    public static func == (a: RawInputEvent, b: RawInputEvent) -> Bool {
        a.kind == b.kind && a.detail == b.detail && a.time == b.time && a.root == b.root && a.state == b.state
    }

    public var shiftHeld: Bool { state & UInt16(Modifier.shift.mask) != 0 }
    public var capsLock: Bool { state & UInt16(CX11ModifierMask.lock.rawValue) != 0 }
    public var controlHeld: Bool { state & UInt16(Modifier.ctrl.mask) != 0 }
    public var altHeld: Bool { state & UInt16(Modifier.alt.mask) != 0 }
    public var superHeld: Bool { state & UInt16(Modifier.`super`.mask) != 0 }
}

/// Records what a person does — pointer, buttons, wheel, keys, from every device and client — with
/// the RECORD extension, on two connections of its own (RECORD needs one for control and one that
/// streams the data, owned by a background thread).
public final class InputRecorder: Sendable {
    private let events = Mutex<[RawInputEvent]>([])
    private let stopping = Atomic<Bool>(false)
    /// Signalled by the recording thread when it has closed its connection.
    private let finished = DispatchSemaphore(value: 0)
    private let control: UncheckedPointer
    private let context: UInt

    /// Starts recording on display `name`. Corresponding Xlib calls: `XRecordCreateContext`,
    /// `XRecordEnableContextAsync`, `XRecordProcessReplies`.
    public init(display name: String) throws(DesktopError) {
        guard let control = Xlib.openDisplay(name), let data = Xlib.openDisplay(name) else {
            throw DesktopError(.connectionFailed, "cannot open X display '\(name)' for recording")
        }
        var major: Int32 = 0, minor: Int32 = 0
        guard XRecordQueryVersion(control, &major, &minor) != 0 else {
            XCloseDisplay(control)
            XCloseDisplay(data)
            throw DesktopError(.missingExtension, "X display \(name) has no RECORD extension, so input cannot be recorded")
        }
        // The keymap as it is now, so key events can carry their symbols.
        var low: Int32 = 0, high: Int32 = 0, width: Int32 = 0
        XDisplayKeycodes(control, &low, &high)
        var keymap: [UInt8: (Keys.KeySym?, Keys.KeySym?)] = [:]
        if let map = XGetKeyboardMapping(control, UInt8(low), high - low + 1, &width) {
            for code in 0..<Int(high - low + 1) {
                let plain = map[code * Int(width)], shifted = width > 1 ? map[code * Int(width) + 1] : 0
                keymap[UInt8(code + Int(low))] = (plain == 0 ? nil : Keys.KeySym(rawValue: plain),
                                                  shifted == 0 ? (plain == 0 ? nil : Keys.KeySym(rawValue: plain)) : Keys.KeySym(rawValue: shifted))
            }
            XFree(map)
        }
        guard let range = XRecordAllocRange() else { throw DesktopError(.protocolError, "XRecordAllocRange failed") }
        range.pointee.device_events.first = UInt8(KeyPress)
        range.pointee.device_events.last = UInt8(MotionNotify)
        // Keyboard-mapping changes too, in order with the events: a typist that binds a spare keycode
        // to type a character missing from the map (as InputController does) is then understood.
        range.pointee.core_requests.first = UInt8(X_ChangeKeyboardMapping)
        range.pointee.core_requests.last = UInt8(X_ChangeKeyboardMapping)
        var clients = cx11_record_all_clients
        var ranges: UnsafeMutablePointer<XRecordRange>? = range
        let context = XRecordCreateContext(control, 0, &clients, 1, &ranges, 1)
        XFree(range)
        XSync(control, 0)
        guard context != 0 else { throw DesktopError(.protocolError, "XRecordCreateContext failed") }
        self.control = UncheckedPointer(raw: control)
        self.context = context
        let sink = Sink(events: { [weak self] event in self?.events.withLock { $0.append(event) } }, keymap: keymap)
        let worker = UncheckedPointer(raw: data)
        let ready = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            let box = Unmanaged.passRetained(sink)
            defer { box.release() }
            XRecordEnableContextAsync(worker.raw, context, { closure, intercepted in
                guard let closure, let intercepted else { return }
                Unmanaged<Sink>.fromOpaque(UnsafeRawPointer(closure)).takeUnretainedValue().receive(intercepted)
                XRecordFreeData(intercepted)
            }, UnsafeMutableRawPointer(box.toOpaque()).assumingMemoryBound(to: CChar.self))
            XFlush(worker.raw)
            ready.signal()
            var descriptor = pollfd(fd: XConnectionNumber(worker.raw), events: Int16(POLLIN), revents: 0)
            while !stopping.load(ordering: .relaxed) {
                XRecordProcessReplies(worker.raw)
                _ = poll(&descriptor, 1, 20)
            }
            XRecordProcessReplies(worker.raw)
            XCloseDisplay(worker.raw)
            finished.signal()
        }
        ready.wait()
    }

    deinit { stop() }

    /// Everything recorded so far.
    public var recorded: [RawInputEvent] { events.withLock { $0 } }

    /// Stops recording (idempotent). Corresponding Xlib calls: `XRecordDisableContext`, `XRecordFreeContext`.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        XRecordDisableContext(control.raw, context)
        XSync(control.raw, 0)
        finished.wait()
        XRecordFreeContext(control.raw, context)
        XCloseDisplay(control.raw)
    }

    /// Turns RECORD's wire-format events into ``RawInputEvent``s.
    private final class Sink: @unchecked Sendable {
        let emit: (RawInputEvent) -> Void
        /// Only the recording thread touches it.
        var keymap: [UInt8: (Keys.KeySym?, Keys.KeySym?)]

        init(events: @escaping (RawInputEvent) -> Void, keymap: [UInt8: (Keys.KeySym?, Keys.KeySym?)]) {
            emit = events
            self.keymap = keymap
        }

        func receive(_ intercepted: UnsafeMutablePointer<XRecordInterceptData>) {
            let datum = intercepted.pointee
            if datum.category == XRecordFromClient, let data = datum.data { return remap(UnsafeRawPointer(data), length: Int(datum.data_len) * 4) }
            guard datum.category == XRecordFromServer, let data = datum.data, datum.data_len * 4 >= 32 else { return }
            // An xEvent: type, detail, sequence, time (32), root, event, child, root x/y (16 each), …, state (16).
            let bytes = UnsafeRawPointer(data)
            let kinds: [Int32: RawInputEvent.Kind] = [KeyPress: .keyPress, KeyRelease: .keyRelease, ButtonPress: .buttonPress,
                                                      ButtonRelease: .buttonRelease, MotionNotify: .motion]
            guard let kind = kinds[Int32(bytes.load(as: UInt8.self) & 0x7F)] else { return }
            let detail = bytes.load(fromByteOffset: 1, as: UInt8.self)
            let key = kind == .keyPress || kind == .keyRelease ? keymap[detail] : nil
            emit(RawInputEvent(
                kind: kind, detail: detail, time: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                root: Point(x: Int(bytes.loadUnaligned(fromByteOffset: 20, as: Int16.self)),
                            y: Int(bytes.loadUnaligned(fromByteOffset: 22, as: Int16.self))),
                state: bytes.loadUnaligned(fromByteOffset: 28, as: UInt16.self),
                keysyms: (key?.0, key?.1)))
        }

        /// A ChangeKeyboardMapping request: opcode, count, length (16), first keycode, keysyms per
        /// keycode, 2 bytes of padding, then the keysyms (32 bits each).
        private func remap(_ request: UnsafeRawPointer, length: Int) {
            guard length >= 8, request.load(as: UInt8.self) == UInt8(X_ChangeKeyboardMapping) else { return }
            let count = Int(request.load(fromByteOffset: 1, as: UInt8.self))
            let first = Int(request.load(fromByteOffset: 4, as: UInt8.self))
            let width = Int(request.load(fromByteOffset: 5, as: UInt8.self))
            guard width > 0, length >= 8 + count * width * 4 else { return }
            for index in 0..<count {
                let base = 8 + index * width * 4
                let plain = UInt(request.loadUnaligned(fromByteOffset: base, as: UInt32.self))
                let shifted = width > 1 ? UInt(request.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self)) : 0
                keymap[UInt8(first + index)] = (plain == 0 ? nil : Keys.KeySym(rawValue: plain),
                                                shifted == 0 ? (plain == 0 ? nil : Keys.KeySym(rawValue: plain)) : Keys.KeySym(rawValue: shifted))
            }
        }
    }
}

private struct UncheckedPointer: @unchecked Sendable {
    let raw: OpaquePointer
}
