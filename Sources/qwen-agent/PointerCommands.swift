public import ArgumentParser
public import Desktop
import Imaging

extension MouseButton: ExpressibleByArgument {
    public init?(argument: String) {
        guard let button = [MouseButton.left, .middle, .right].first(where: { $0.description == argument }) else { return nil }
        self = button
    }

    public static var allValueStrings: [String] { ["left", "middle", "right"] }
}

extension ScrollDirection: ExpressibleByArgument {}

struct Click: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Click at a point (root-window pixels).",
        discussion: "--count 2 is a double click and 3 a triple click, 80 ms apart like a quick hand.")

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "X coordinate.") var x: Int
    @Argument(help: "Y coordinate.") var y: Int
    @Option(help: "Which button.") var button: MouseButton = .left
    @Option(help: "How many clicks (\(InputController.clickCounts.spelled)).") var count = 1

    func validate() throws {
        if !InputController.clickCounts.contains(count) {
            throw ValidationError("--count must be \(InputController.clickCounts.spelled), not \(count)")
        }
    }

    func run() throws {
        try desktop.withDisplay { display, _ in
            try desktop.makeInput(display).click(button, at: Point(x: x, y: y), count: count)
        }
    }
}

struct Move: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Move the pointer to a point (root-window pixels).")

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "X coordinate.") var x: Int
    @Argument(help: "Y coordinate.") var y: Int

    func run() throws {
        try desktop.withDisplay { display, _ in try desktop.makeInput(display).move(to: Point(x: x, y: y)) }
    }
}

struct Drag: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drag from one point to another with a button held.",
        discussion: "The pointer passes through intermediate positions; toolkits ignore a drag that jumps.")

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "Start X.") var fromX: Int
    @Argument(help: "Start Y.") var fromY: Int
    @Argument(help: "End X.") var toX: Int
    @Argument(help: "End Y.") var toY: Int
    @Option(help: "Which button.") var button: MouseButton = .left

    func run() throws {
        try desktop.withDisplay { display, _ in
            try desktop.makeInput(display).drag(from: Point(x: fromX, y: fromY), to: Point(x: toX, y: toY), button: button)
        }
    }
}

struct Scroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn the mouse wheel (buttons 4–7), where the pointer is or at --at.")

    @OptionGroup var desktop: DesktopOptions
    @Argument(help: "Direction: up, down, left or right.") var direction: ScrollDirection
    @Option(help: "Wheel clicks (\(InputController.scrollSteps.spelled)).") var steps = 3
    @Option(help: ArgumentHelp("Move here first.", valueName: "x,y")) var at: Point?

    func validate() throws {
        if !InputController.scrollSteps.contains(steps) {
            throw ValidationError("--steps must be \(InputController.scrollSteps.spelled), not \(steps)")
        }
    }

    func run() throws {
        try desktop.withDisplay { display, _ in try desktop.makeInput(display).scroll(direction, steps: steps, at: at) }
    }
}

extension ClosedRange<Int> {
    /// The range as help text writes it: `1–10`.
    var spelled: String { "\(lowerBound)–\(upperBound)" }
}
