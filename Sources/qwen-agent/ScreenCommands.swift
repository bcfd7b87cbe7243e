public import ArgumentParser
public import Desktop
import Foundation
import Imaging
import Logging

struct Monitors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the monitors (RandR 1.5), including layouts set with `xrandr --setmonitor`.",
        discussion: "One line each: name, geometry WxH+X+Y in root pixels, and `primary` for the primary monitor.")

    @OptionGroup var desktop: DesktopOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        try desktop.withDisplay { display, _ in
            let monitors = try display.monitors()
            if json {
                let objects = monitors.map {
                    ["name": $0.name, "x": $0.bounds.x, "y": $0.bounds.y, "width": $0.bounds.width,
                     "height": $0.bounds.height, "primary": $0.isPrimary] as [String: Any]
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                monitors.forEach { print($0) }
            }
        }
    }
}

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture the screen, one monitor, or a rectangle to a PNG file.",
        discussion: """
            Uses MIT-SHM when the X server can share memory with this process and XGetImage otherwise \
            (a remote display); --method forces one.
            """)

    @OptionGroup var desktop: DesktopOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The PNG file to write.", valueName: "file.png"))
    var output: String

    @Option(help: ArgumentHelp("Capture only this monitor (see `qwen-agent monitors`).", valueName: "name"))
    var monitor: String?

    @Option(help: ArgumentHelp("Capture only this rectangle of the root window.", valueName: "x,y,w,h"))
    var region: Rect?

    @Option(help: ArgumentHelp("Capture method: MIT-SHM or XGetImage.", valueName: "method"))
    var method: ScreenCapturer.Method = .sharedMemory

    func validate() throws {
        if monitor != nil && region != nil { throw ValidationError("give --monitor or --region, not both") }
    }

    func run() throws {
        try desktop.withDisplay { display, logger in
            let capturer = ScreenCapturer(display: display, method: method)
            let area = try monitor.map { try display.monitor(named: $0).bounds } ?? region
            let image = try capturer.capture(area)
            try PNG.write(image, to: URL(fileURLWithPath: output))
            logger.info("captured \(image.size) with \(capturer.method.rawValue)")
            print("\(output): \(image.size) captured with \(capturer.method.rawValue)")
        }
    }
}

extension ScreenCapturer.Method: ExpressibleByArgument {}
