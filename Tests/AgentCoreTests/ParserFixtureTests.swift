import AgentCore
import Foundation
import Imaging
import Testing
import TestSupportCore

/// The model outputs in `Fixtures/ModelOutputs`, each with the plan or failure it must give.
enum ModelOutputFixtures {
    static let folder = Repository.fixtures.appendingPathComponent("ModelOutputs")

    static var names: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }.sorted()
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: folder.appendingPathComponent(name + ".txt")), as: UTF8.self)
    }

    /// 1000x1000 pixels with relative coordinates: a point's pixel is the floor of what the model wrote.
    static let unitMapping = CoordinateMapping(space: .relative1000, imageSize: Size(width: 1000, height: 1000))
}

@Suite("Step parser against the model-output fixtures")
struct ParserFixtureTests {
    @Test func thereAreAtLeastFortyFixtures() {
        #expect(ModelOutputFixtures.names.count >= 40)
    }

    @Test(arguments: ModelOutputFixtures.names)
    func fixtureParsesToItsExpectedPlan(name: String) throws {
        let text = try ModelOutputFixtures.text(name)
        let expectedData = try Data(contentsOf: ModelOutputFixtures.folder.appendingPathComponent(name + ".expected.json"))
        let expected = try #require(try JSONSerialization.jsonObject(with: expectedData) as? [String: Any])
        let shape = try #require(OutputShape(rawValue: expected["shape"] as? String ?? "thinking"))
        let report = PlanReport(text: text, shape: shape, mapping: ModelOutputFixtures.unitMapping)
        let actual = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])

        #expect(report.status == expected["status"] as? String, "\(name): \(actual["reason"] ?? "")")
        if let fragment = expected["reason_contains"] as? String {
            #expect((actual["reason"] as? String)?.contains(fragment) == true, "\(name): reason \(actual["reason"] ?? "none")")
        }
        if report.status != "ok" && report.status != "coordinate_out_of_range" {
            // A failure is never an empty success and never a terminate.
            #expect(report.plan == nil)
            #expect(!(actual["reason"] as? String ?? "").isEmpty)
        }
        if let source = expected["source"] as? String { #expect(actual["source"] as? String == source) }
        if let expectedActions = expected["actions"] as? [[String: Any]] {
            let actions = actual["actions"] as? [[String: Any]] ?? []
            #expect(actions.count == expectedActions.count, "\(name): \(actions.map { $0["action"] ?? "?" })")
            for (want, got) in zip(expectedActions, actions) {
                for (key, value) in want {
                    #expect(json(got[key]) == json(value), "\(name): \(key) is \(json(got[key])), expected \(json(value))")
                }
            }
        }
    }

    private func json(_ value: Any?) -> String {
        guard let value, let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "nil" }
        return String(decoding: data, as: UTF8.self)
    }
}
