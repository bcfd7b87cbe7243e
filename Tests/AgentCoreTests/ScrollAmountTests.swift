import AgentCore
import Testing

/// Scroll amounts: small ones are wheel clicks, pixel-sized ones are turned into clicks at about
/// 100 px each, and there is a hard upper bound (ActionTable.wheelClicks). The executor's click count
/// for a pixel-sized amount is checked on Xvfb in ActionTableAgreementTests.
@Suite("Scroll amounts become wheel clicks")
struct ScrollAmountTests {
    static func toolCall(_ arguments: String) -> String {
        "</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\(arguments)}}\n</tool_call>"
    }

    @Test(arguments: [
        (-5.0, -5), (3, 3), (10, 10), (-10, -10), (0.6, 1), // clicks, as the official agents execute them
        (-300, -3), (120, 1), (11, 1), (40, 1), (-149, -1), (250, 3), (-1000, -10), (5000, 50), // pixels
    ])
    func amountsParseToWheelClicks(amount: Double, clicks: Int) throws {
        let plan = try StepParser.parse(Self.toolCall("\"action\": \"scroll\", \"pixels\": \(amount)"))
        #expect(plan.actions.map(\.action.amount) == [clicks])
        let sideways = try StepParser.parse(Self.toolCall("\"action\": \"hscroll\", \"pixels\": \(amount)"))
        #expect(sideways.actions.map(\.action.amount) == [clicks])
    }

    /// Before the rule, anything above 50 was refused, so a model's -300 never scrolled.
    @Test func pixelSizedAmountIsNoLongerRefused() throws {
        let plan = try StepParser.parse(Self.toolCall("\"action\": \"scroll\", \"pixels\": -300, \"coordinate\": [500, 500]"))
        #expect(plan.actions.first?.action == Action(.scroll, point: ModelPoint(x: 500, y: 500), amount: -3))
    }

    @Test(arguments: [0.0, 0.4, -0.2, 5001, -20000])
    func zeroAndHugeAmountsAreRefusedWithTheRule(amount: Double) throws {
        let failure = try #require(throws: ParseFailure.self) {
            try StepParser.parse(Self.toolCall("\"action\": \"scroll\", \"pixels\": \(amount)"))
        }
        #expect(failure.kind == .invalidArguments)
        #expect(failure.reason.contains("Amounts up to 10 are wheel clicks"), "\(failure.reason)")
    }

    /// The same rule for pyautogui-style lines.
    @Test func compatibilityCallsUseTheSameRule() throws {
        let plan = try StepParser.parse("</think>\npyautogui.scroll(-300)")
        #expect(plan.actions.map(\.action.amount) == [-3])
        let small = try StepParser.parse("</think>\npyautogui.scroll(4)")
        #expect(small.actions.map(\.action.amount) == [4])
    }
}
