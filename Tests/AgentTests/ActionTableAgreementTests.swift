@testable import Agent
@testable import AgentCore
import Desktop
import Foundation
import Imaging
import Qwen3VLPrompt
import TestSupport
import Testing

@Suite("The action table, the prompt's tool schema and the executor agree")
struct ActionTableAgreementTests {
    /// The tool's function object, parsed back from the JSON the prompt carries.
    static func function(_ options: ToolOptions = ToolOptions(), resolution: Size = Size(width: 1000, height: 1000)) throws -> [String: Any] {
        let json = ToolSchema.computerUse(resolution: resolution, options: options).json
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return try #require(object["function"] as? [String: Any])
    }

    static func properties(_ function: [String: Any]) throws -> [String: Any] {
        try #require((function["parameters"] as? [String: Any])?["properties"] as? [String: Any])
    }

    /// The default tool is the one Qwen3-VL was trained on: its actions in its order, its argument names.
    @Test func defaultSchemaOffersExactlyTheTrainedTool() throws {
        let function = try Self.function()
        #expect(function["name"] as? String == "computer_use")
        let description = try #require(function["description"] as? String)
        #expect(description.contains("The screen's resolution is 1000x1000."))
        let properties = try Self.properties(function)
        let action = try #require(properties["action"] as? [String: Any])
        #expect(action["enum"] as? [String] == ["key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
                                                 "double_click", "triple_click", "scroll", "hscroll", "wait", "terminate", "answer"])
        // Argument names as trained, in the order the trained tool lists them.
        let json = ToolSchema.computerUse(resolution: Size(width: 1000, height: 1000)).json
        let order = ["action", "keys", "text", "coordinate", "pixels", "time", "status"].map { json.range(of: "\"\($0)\": {")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order == order.sorted { $0! < $1! }, "argument order")
        #expect(Set(properties.keys) == ["action", "keys", "text", "coordinate", "pixels", "time", "status"])
        #expect((properties["status"] as? [String: Any])?["enum"] as? [String] == ["success", "failure"])
        // One line per offered action, none for an extension.
        let lines = try #require(action["description"] as? String).split(separator: "\n").filter { $0.hasPrefix("* `") }
        #expect(lines.count == 14)
        for spec in ActionTable.all { #expect(lines.contains { $0.hasPrefix("* `\(spec.name.rawValue)`: ") } == !spec.isExtension) }
    }

    /// A profile turns extensions on one by one; the schema then offers exactly the table.
    @Test func extensionsAreOfferedOnlyWhenTurnedOn() throws {
        var options = ToolOptions()
        options.extensions = ["call_user"]
        let some = try Self.function(options)
        #expect((try Self.properties(some)["action"] as? [String: Any])?["enum"] as? [String] == (try Self.actionEnum(ToolOptions())) + ["call_user"])
        #expect(try Self.properties(some)["start_coordinate"] == nil)

        options.extensions = Set(ActionTable.extensionNames)
        #expect(ActionTable.extensionNames == ["left_mouse_down", "left_mouse_up", "call_user", "start_coordinate"])
        let all = try Self.function(options)
        let properties = try Self.properties(all)
        #expect((properties["action"] as? [String: Any])?["enum"] as? [String] == ActionName.allCases.map(\.rawValue))
        for spec in ActionTable.all {
            for parameter in spec.parameters { #expect(properties[parameter.name] != nil, "\(parameter.name) in the schema") }
        }
        #expect(ActionTable.all.map(\.name) == ActionName.allCases, "one table entry per action, in order")
    }

    static func actionEnum(_ options: ToolOptions) throws -> [String] {
        try #require((try properties(function(options))["action"] as? [String: Any])?["enum"] as? [String])
    }

    /// A profile's own text replaces ours word for word; the resolution still goes where it says.
    @Test func profileTextReplacesTheToolsWords() throws {
        var options = ToolOptions()
        options.description = "Trained text.\n* The screen's resolution is {resolution}."
        options.actionHeading = "Pick one:"
        options.actionDescriptions = [.key: "Trained key line."]
        options.parameterDescriptions = ["pixels": "Trained pixels text."]
        let function = try Self.function(options, resolution: Size(width: 1920, height: 1088))
        #expect(function["description"] as? String == "Trained text.\n* The screen's resolution is 1920x1088.")
        let properties = try Self.properties(function)
        let actions = try #require((properties["action"] as? [String: Any])?["description"] as? String)
        #expect(actions.hasPrefix("Pick one:\n* `key`: Trained key line.\n* `type`: "))
        #expect((properties["pixels"] as? [String: Any])?["description"] as? String == "Trained pixels text.")
    }

    @Test func schemaActionsParseBackThroughTheParser() throws {
        // Every action, written as a tool call the way the schema describes it, parses to itself,
        // extensions included: the parser accepts them whether or not the prompt offered them.
        for name in ActionName.allCases {
            let sample = Self.sample(for: name)
            var arguments: [String] = ["\"action\": \"\(name.rawValue)\""]
            if let point = sample.point { arguments.append("\"coordinate\": [\(Int(point.x)), \(Int(point.y))]") }
            if let start = sample.startPoint { arguments.append("\"start_coordinate\": [\(Int(start.x)), \(Int(start.y))]") }
            if let keys = sample.keys { arguments.append("\"keys\": [\(keys.map { "\"\($0)\"" }.joined(separator: ", "))]") }
            if let text = sample.text { arguments.append("\"text\": \"\(text)\"") }
            if let amount = sample.amount { arguments.append("\"pixels\": \(amount)") }
            if let seconds = sample.seconds { arguments.append("\"time\": \(seconds)") }
            if let status = sample.status { arguments.append("\"status\": \"\(status.rawValue)\"") }
            let output = "</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\(arguments.joined(separator: ", "))}}\n</tool_call>"
            let plan = try StepParser.parse(output)
            #expect(plan.actions.map(\.action) == [sample], "\(name.rawValue)")
        }
    }

    /// Every action the schema offers, performed with XTest against the fixture app, does what it says.
    @Test func executorPerformsEveryActionOnARealDisplay() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 0, y: 0))
            let display = try Display(name: virtual.name, logger: testLogger)
            var timing = InputTiming()
            timing.remapSettle = .milliseconds(30)
            let executor = Executor(input: try InputController(display: display, timing: timing))
            // The fixture window is 640x400 at the origin; map model pixels 1:1 onto it.
            let mapping = CoordinateMapping(space: .imagePixels, imageSize: Size(width: 640, height: 400))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            for name in ActionName.allCases {
                let before = app.events().count
                let effect = try executor.perform(ResolvedAction(Self.sample(for: name), mapping: mapping))
                let check = Self.check(for: name)
                let events = try app.waitForEvents(timeout: 10) { events in check.arrived(Array(events.dropFirst(before))) }
                #expect(check.arrived(Array(events.dropFirst(before))), "\(name.rawValue)")
                #expect(effect == check.effect, "\(name.rawValue) effect")
            }
        }
    }

    /// A sample of each action, aimed at a blank part of the fixture window (no widget, no logout).
    static func sample(for name: ActionName) -> Action {
        let spot = ModelPoint(x: 400, y: 220)
        return switch name {
        case .key: Action(.key, keys: ["shift", "a"])
        case .type: Action(.type, text: "ok é")
        case .mouseMove: Action(.mouseMove, point: ModelPoint(x: 410, y: 230))
        case .leftClick, .rightClick, .middleClick, .doubleClick, .tripleClick: Action(name, point: spot)
        case .leftClickDrag: Action(.leftClickDrag, point: ModelPoint(x: 600, y: 260), startPoint: ModelPoint(x: 300, y: 200))
        case .leftMouseDown, .leftMouseUp: Action(name)
        // Pixel-sized amounts, as a model may send them: 3 wheel clicks down, 2 to the right.
        case .scroll: Action(.scroll, amount: ActionTable.wheelClicks(for: -300))
        case .hscroll: Action(.hscroll, amount: ActionTable.wheelClicks(for: 180))
        case .wait: Action(.wait, seconds: 0.1)
        case .terminate: Action(.terminate, status: .success)
        case .answer: Action(.answer, text: "42")
        case .callUser: Action(.callUser, text: "please log in")
        }
    }

    struct Check {
        let effect: ActionEffect
        let arrived: ([FixtureEvent]) -> Bool
    }

    /// What the fixture must have seen after each sample.
    static func check(for name: ActionName) -> Check {
        func presses(_ button: Int, _ count: Int) -> ([FixtureEvent]) -> Bool {
            { events in
                events.filter { $0.event == "button_press" && $0.button == button && $0.x == 400 && $0.y == 220 }.count == count
                    && events.filter { $0.event == "button_release" && $0.button == button }.count == count
            }
        }
        let nothing: ([FixtureEvent]) -> Bool = { events in !events.contains { $0.event.hasPrefix("button") || $0.event.hasPrefix("key") } }
        return switch name {
        // Each check waits for the last event its action sends (releases included): a late one would
        // land in the next action's window and fail that action's check.
        case .key: Check(effect: .performed) { $0.contains { $0.event == "key_press" && $0.text == "A" } && $0.filter { $0.event == "key_release" }.count == 2 }
        case .type: Check(effect: .performed) { $0.compactMap(\.text).joined() == "ok é" }
        case .mouseMove: Check(effect: .performed) { $0.contains { $0.event == "motion" && $0.x == 410 && $0.y == 230 } }
        case .leftClick: Check(effect: .performed, arrived: presses(1, 1))
        case .rightClick: Check(effect: .performed, arrived: presses(3, 1))
        case .middleClick: Check(effect: .performed, arrived: presses(2, 1))
        case .doubleClick: Check(effect: .performed, arrived: presses(1, 2))
        case .tripleClick: Check(effect: .performed, arrived: presses(1, 3))
        case .leftClickDrag:
            Check(effect: .performed) { events in
                events.contains { $0.event == "button_press" && $0.x == 300 && $0.y == 200 }
                    && events.contains { $0.event == "button_release" && $0.x == 600 && $0.y == 260 }
                    && events.filter { $0.event == "motion" }.count >= 8
            }
        case .leftMouseDown: Check(effect: .performed) { $0.contains { $0.event == "button_press" && $0.button == 1 } }
        case .leftMouseUp: Check(effect: .performed) { $0.contains { $0.event == "button_release" && $0.button == 1 } }
        case .scroll: Check(effect: .performed) { $0.filter { $0.event == "button_release" && $0.button == 5 }.count == 3 }
        case .hscroll: Check(effect: .performed) { $0.filter { $0.event == "button_release" && $0.button == 7 }.count == 2 }
        case .wait: Check(effect: .wait(.milliseconds(100)), arrived: nothing)
        case .terminate: Check(effect: .finished(.success), arrived: nothing)
        case .answer: Check(effect: .answered("42"), arrived: nothing)
        case .callUser: Check(effect: .needsUser("please log in"), arrived: nothing)
        }
    }
}
