import AgentCore
public import Foundation
import Models
/// Who thinks each step: one model, or an Instruct↔Thinking pair (`--agent auto`).
///
/// The pair follows the deployment advice this project comes from: Instruct is fast, Thinking is
/// accurate on hard steps. A step goes to Instruct unless the ``RoutingPolicy`` sees a reason for
/// Thinking; each step's record says which model answered and why.
public enum StepModels: Sendable {
    case one(ModelSeat)
    case routed(instruct: ModelSeat, thinking: ModelSeat, policy: RoutingPolicy)

    /// The model for the next step, and why it was chosen (nil for a single model).
    func choose(step: Int, after last: LastStep) -> (seat: ModelSeat, route: RouteRecord?) {
        switch self {
        case .one(let seat):
            return (seat, nil)
        case .routed(let instruct, let thinking, let policy):
            if let reason = policy.escalation(step: step, after: last) {
                return (thinking, RouteRecord(model: "thinking", reason: reason))
            }
            return (instruct, RouteRecord(model: "instruct", reason: "a routine step"))
        }
    }

    /// The most past steps any seat sends with their screenshots: older steps' screenshots are never sent again.
    var recentSteps: Int {
        switch self {
        case .one(let seat): seat.profile.history.recentSteps
        case .routed(let instruct, let thinking, _): max(instruct.profile.history.recentSteps, thinking.profile.history.recentSteps)
        }
    }

    /// The seat every profile-level choice (step limit, model shape of the session header) comes from.
    public var lead: ModelSeat {
        switch self {
        case .one(let seat): seat
        case .routed(_, let thinking, _): thinking
        }
    }
}

/// How the previous step went, as far as routing cares.
enum LastStep: Sendable, Equatable {
    /// No step yet.
    case none
    case fine
    /// The reply could not be used.
    case unusable
    /// The step changed nothing on the screen.
    case unchanged
    /// The step repeated the action of the step before it.
    case repeated
    /// The Instruct model gave up (terminate failure or call_user): Thinking gets a chance first.
    case gaveUp(String)
}

/// When a router escalates from Instruct to Thinking. Data in the `auto` profile (`router`).
public struct RoutingPolicy: Codable, Sendable, Equatable {
    /// The task's first step goes to Thinking: it needs a plan.
    public var firstStep = true
    /// After a reply that could not be used.
    public var afterUnusableReply = true
    /// After a step that changed nothing on the screen.
    public var afterUnchangedScreen = true
    /// After a step that repeated the previous action.
    public var afterRepeatedAction = true
    /// When Instruct gives up (terminate failure, call_user) instead of ending the run.
    public var whenInstructGivesUp = true

    public init() {}

    /// Why the step after `last` goes to Thinking, or nil for Instruct.
    func escalation(step: Int, after last: LastStep) -> String? {
        switch last {
        case .none where firstStep: "the task's first step needs a plan"
        case .unusable where afterUnusableReply: "the previous reply could not be used"
        case .unchanged where afterUnchangedScreen: "the previous step changed nothing"
        case .repeated where afterRepeatedAction: "the previous step repeated an action"
        case .gaveUp(let why) where whenInstructGivesUp: "Instruct gave up (\(why))"
        default: nil
        }
    }
}

/// A router profile (`Agents/auto.json`): which profiles the two models use, and when to escalate.
public struct RouterProfile: Codable, Sendable {
    public var name: String
    public var router: Route

    public struct Route: Codable, Sendable {
        /// The profile names (or files) of the two models.
        public var instruct: String
        public var thinking: String
        public var policy: RoutingPolicy
    }

    /// The router profile `nameOrPath` names (found as ``Profile/load(_:searching:)`` finds one), or nil
    /// when that profile is a plain one or there is none.
    public static func load(_ nameOrPath: String, searching folders: [URL] = Profile.searchFolders) throws(ProfileError) -> RouterProfile? {
        guard let (data, origin) = try? Profile.source(nameOrPath, searching: folders) else { return nil }
        do {
            return try SessionFormat.decoder.decode(File.self, from: data).router
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            return nil // not JSON: loading it as a plain profile says so
        } catch {
            throw ProfileError("the router profile \(origin) is not valid: \(error)")
        }
    }

    /// A profile file, decoded once: a router profile when it has a `router` key.
    private struct File: Decodable {
        let router: RouterProfile?

        init(from decoder: any Decoder) throws {
            guard let keys = try? decoder.container(keyedBy: CodingKeys.self), keys.contains(.router) else {
                router = nil
                return
            }
            router = try RouterProfile(from: decoder)
        }
    }
}

extension StepModels {
    /// The same models with another step budget (`--max-steps`).
    public func withStepLimit(_ limit: Int) -> StepModels {
        func limited(_ seat: ModelSeat) -> ModelSeat {
            var seat = seat
            seat.profile.stepLimit = limit
            return seat
        }
        return switch self {
        case .one(let seat): .one(limited(seat))
        case .routed(let instruct, let thinking, let policy): .routed(instruct: limited(instruct), thinking: limited(thinking), policy: policy)
        }
    }

    /// The model(s) and profile(s), for the run's first lines.
    public var summary: String {
        switch self {
        case .one(let seat): "\(seat.model.identity)  profile: \(seat.profile.name)"
        case .routed(let instruct, let thinking, _):
            "instruct \(instruct.model.identity) (\(instruct.profile.name)), thinking \(thinking.model.identity) (\(thinking.profile.name))  profile: auto"
        }
    }
}
