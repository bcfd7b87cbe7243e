internal import CX11
import Glibc
public import Imaging
import Logging

/// Captures the screen, a monitor or a rectangle of the root window as an ``RGBImage``.
///
/// The fast path is MIT-SHM: `XShmGetImage` into one shared-memory segment that is created once and
/// reused for every capture. Where the server cannot share memory with us (no MIT-SHM, or a remote
/// display where attaching fails) it falls back to `XGetImage` on its own, once, and logs why.
public final class ScreenCapturer {
    public enum Method: String, Sendable, CaseIterable {
        case sharedMemory = "MIT-SHM"
        case getImage = "XGetImage"
    }

    private let display: Display
    /// The method the next capture will use.
    public private(set) var method: Method
    private var segment: SharedSegment?

    /// - Parameter method: `.sharedMemory` (default) tries MIT-SHM and falls back; `.getImage` never uses it.
    public init(display: Display, method: Method = .sharedMemory) {
        self.display = display
        self.method = method
        if method == .sharedMemory, XShmQueryExtension(display.raw) == 0 {
            display.logger.info("the X server has no MIT-SHM; capturing with XGetImage")
            self.method = .getImage
        }
    }

    /// Captures `rect` of the root window (the whole screen when nil).
    public func capture(_ rect: Rect? = nil) throws(DesktopError) -> RGBImage {
        try withRawCapture(rect) { data, width, height, layout throws(DesktopError) in
            do throws(ImagingError) {
                return try RGBImage(converting: data, width: width, height: height, layout: layout)
            } catch {
                throw DesktopError(.protocolError, error.message, cause: error)
            }
        }
    }

    /// Captures a monitor.
    public func capture(_ monitor: Monitor) throws(DesktopError) -> RGBImage {
        try capture(monitor.bounds)
    }

    /// Captures `rect` and hands the server's raw pixels to `body` without converting them; the
    /// buffer is only valid inside `body`. For benchmarks and for callers with their own conversion.
    public func withRawCapture<T>(
        _ rect: Rect?, _ body: (UnsafeRawBufferPointer, Int, Int, PixelLayout) throws(DesktopError) -> T
    ) throws(DesktopError) -> T {
        let screen = try display.screenBounds()
        let area = rect ?? screen
        guard !area.isEmpty, screen.contains(area) else {
            throw DesktopError(.invalidArgument, "capture region \(area) is not inside the \(screen.size) screen of display \(display.name)")
        }
        if method == .sharedMemory {
            do {
                return try withSharedMemoryCapture(area, body)
            } catch where error.code == .protocolError && segment == nil {
                display.logger.info("MIT-SHM capture failed (\(error.message)); falling back to XGetImage")
                method = .getImage
            }
        }
        return try withGetImageCapture(area, body)
    }

    // MARK: MIT-SHM

    private func withSharedMemoryCapture<T>(
        _ area: Rect, _ body: (UnsafeRawBufferPointer, Int, Int, PixelLayout) throws(DesktopError) -> T
    ) throws(DesktopError) -> T {
        let d = display.raw
        let visual = XDefaultVisual(d, display.screen)
        let depth = UInt32(XDefaultDepth(d, display.screen))
        var info = XShmSegmentInfo()
        // XShmCreateImage only fills in the XImage header; the pixels go to our segment.
        guard let image = XShmCreateImage(d, visual, depth, ZPixmap, nil, &info, UInt32(area.width), UInt32(area.height))
        else { throw DesktopError(.protocolError, "XShmCreateImage failed for \(area.size)") }
        defer {
            image.pointee.data = nil // the segment owns the memory
            XDestroyImage(image)
        }
        let bytes = Int(image.pointee.bytes_per_line) * area.height
        let shared = try attachedSegment(minimumBytes: bytes)
        image.pointee.data = shared.address.assumingMemoryBound(to: CChar.self)
        image.pointee.obdata = UnsafeMutableRawPointer(shared.info).assumingMemoryBound(to: CChar.self)
        let ok = try display.checkedReply("XShmGetImage") {
            XShmGetImage(d, display.root, image, Int32(area.x), Int32(area.y), cx11_all_planes)
        }
        guard ok != 0 else { throw DesktopError(.protocolError, "XShmGetImage returned failure for \(area)") }
        return try body(UnsafeRawBufferPointer(start: shared.address, count: bytes), area.width, area.height, layout(of: image))
    }

    /// The reusable segment, created or grown on demand and attached to the server.
    private func attachedSegment(minimumBytes: Int) throws(DesktopError) -> SharedSegment {
        if let segment, segment.size >= minimumBytes { return segment }
        segment = nil
        let created = try SharedSegment(size: minimumBytes)
        try created.attach(to: display)
        segment = created
        return created
    }

    // MARK: XGetImage

    private func withGetImageCapture<T>(
        _ area: Rect, _ body: (UnsafeRawBufferPointer, Int, Int, PixelLayout) throws(DesktopError) -> T
    ) throws(DesktopError) -> T {
        let image = try display.checked("XGetImage") {
            XGetImage(display.raw, display.root, Int32(area.x), Int32(area.y), UInt32(area.width), UInt32(area.height),
                      cx11_all_planes, ZPixmap)
        }
        guard let image else { throw DesktopError(.protocolError, "XGetImage returned no image for \(area)") }
        defer { XDestroyImage(image) }
        let bytes = Int(image.pointee.bytes_per_line) * area.height
        return try body(UnsafeRawBufferPointer(start: image.pointee.data, count: bytes), area.width, area.height, layout(of: image))
    }

    private func layout(of image: UnsafeMutablePointer<XImage>) -> PixelLayout {
        let i = image.pointee
        return PixelLayout(
            bitsPerPixel: Int(i.bits_per_pixel), bytesPerLine: Int(i.bytes_per_line),
            byteOrder: i.byte_order == LSBFirst ? .leastSignificantFirst : .mostSignificantFirst,
            redMask: UInt32(truncatingIfNeeded: i.red_mask), greenMask: UInt32(truncatingIfNeeded: i.green_mask),
            blueMask: UInt32(truncatingIfNeeded: i.blue_mask))
    }
}

/// A System V shared-memory segment mapped into this process and, once attached, into the X server.
private final class SharedSegment {
    /// Heap-allocated because the `XImage` points at it (`obdata`) for the segment's lifetime.
    let info: UnsafeMutablePointer<XShmSegmentInfo>
    let id: Int32
    let address: UnsafeMutableRawPointer
    let size: Int
    private var attachedTo: Display?

    /// Corresponding calls: `shmget` (mode 0600: screenshots can hold private data), `shmat`.
    init(size: Int) throws(DesktopError) {
        let id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0o600)
        guard id >= 0 else {
            throw DesktopError(.protocolError, "shmget(\(size) bytes) failed: \(String(cString: strerror(errno)))")
        }
        guard let address = shmat(id, nil, 0), address != UnsafeMutableRawPointer(bitPattern: -1) else {
            let reason = String(cString: strerror(errno))
            shmctl(id, IPC_RMID, nil)
            throw DesktopError(.protocolError, "shmat failed: \(reason)")
        }
        info = .allocate(capacity: 1)
        info.initialize(to: XShmSegmentInfo(shmseg: 0, shmid: id, shmaddr: address.assumingMemoryBound(to: CChar.self), readOnly: 0))
        self.id = id
        self.address = address
        self.size = size
    }

    /// Shares the segment with the server. Corresponding call: `XShmAttach`.
    func attach(to display: Display) throws(DesktopError) {
        let ok = try display.checked("XShmAttach") { XShmAttach(display.raw, info) }
        guard ok != 0 else { throw DesktopError(.protocolError, "XShmAttach refused the segment") }
        attachedTo = display
        // Both sides are attached: mark it for removal so the kernel frees it even if we crash.
        shmctl(id, IPC_RMID, nil)
    }

    deinit {
        if let display = attachedTo {
            XShmDetach(display.raw, info)
            XSync(display.raw, 0)
        } else {
            shmctl(id, IPC_RMID, nil)
        }
        shmdt(address)
        info.deallocate()
    }
}
