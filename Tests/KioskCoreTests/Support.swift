import Foundation
import KioskCore

/// The package root, found from this file's path (Tests/KioskCoreTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func loadProfile(_ id: String) throws -> JurisdictionProfile {
    let data = try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/\(id).json"))
    return try JurisdictionProfile.load(data, root: id)
}

func d(_ s: String) -> CivilDate { CivilDate(iso: s)! }

func evaluate(
    _ profile: JurisdictionProfile, _ service: String, _ event: String, _ report: String, _ facts: Facts = [:]
) throws -> RuleEvaluation {
    try RulesEngine(profile: profile).evaluate(service: service, eventDate: d(event), reportDate: d(report), facts: facts)
}

extension RuleEvaluation {
    func due(_ product: String) -> CivilDate? { self.issuance.first { $0.product == product }?.due }
    func issued(_ product: String) -> Issuance? { self.issuance.first { $0.product == product } }
}
