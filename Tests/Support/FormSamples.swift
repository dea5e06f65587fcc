import Foundation
import KioskCore

/// Valid answers for a service's electronic form, as a resident would give them, for tests that submit real
/// applications (the every-service walk, kioskd over its socket, the end-to-end touch test).
public enum FormSamples {
    public static let name = "MARIA GORETI NDUN"
    public static let text = "JALAN TIMOR RAYA 12"
    public static let phone = "081234567890"

    /// One valid answer for `field`; NIKs are `nik`.
    public static func answer(_ field: FormField, today: CivilDate, nik: String) -> String {
        switch field.kind {
        case .nik: return nik
        case .name: return String(self.name.prefix(field.lengthLimit))
        case .text: return String(self.text.prefix(field.lengthLimit))
        case .choice: return field.choices?.first?.id ?? ""
        case .date: return today.adding(days: -30).description
        case .time: return "09:30"
        case .number: return String(field.min ?? 1)
        case .phone: return self.phone
        }
    }

    /// Every field asked for `facts`, answered.
    public static func answers(_ service: Service, facts: Facts, today: CivilDate, nik: String) -> [String: String] {
        var out: [String: String] = [:]
        for f in service.formFields(for: facts) { out[f.key] = self.answer(f, today: today, nik: nik) }
        return out
    }

    /// Answers the flow's form step by touch events (typing, choosing, the date picker) until it leaves the form.
    /// Returns the number of fields answered.
    @discardableResult
    public static func fill(_ flow: inout ApplyFlow, nik: String) -> Int {
        var answered = 0
        var guardSteps = 0
        while case .form(let i) = flow.step, guardSteps < 200 {
            guardSteps += 1
            let field = flow.formFields[i]
            switch field.kind {
            case .choice:
                _ = flow.handle(.chooseField(field.choices?.first?.id ?? ""))
            case .date:
                _ = flow.handle(.adjustDate(.day, -30))
                _ = flow.handle(.confirm)
            default:
                for c in self.answer(field, today: flow.today, nik: nik) where c != ":" { _ = flow.handle(.key(c)) }
                _ = flow.handle(.confirm)
            }
            if flow.step == .form(i) { break }  // refused: the caller sees flow.problem
            answered += 1
        }
        return answered
    }
}

extension FormSamples {
    /// A shipped profile, as kioskd loads it.
    public static func profile(_ id: String) throws -> JurisdictionProfile {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/\(id).json"))
        return try KioskJSON.decoder().decode(JurisdictionProfile.self, from: data)
    }
}
