/// Marital status as recorded on the KK (PK 97(2)(i)).
public enum MaritalStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case belumKawin = "belum_kawin"
    case kawin
    case ceraiHidup = "cerai_hidup"
    case ceraiMati = "cerai_mati"

    /// Married now or ever married ("sudah kawin atau pernah kawin", PK 12(1)(a)).
    public var everMarried: Bool { self != .belumKawin }
}

/// KTP rules of PK 12, 15 and 102.
public enum KTPRules {
    public enum PhotoBackground: String, Hashable, Sendable, Codable {
        case red
        case blue

        public var label: LocalizedText {
            switch self {
            case .red: return LocalizedText("merah", "red")
            case .blue: return LocalizedText("biru", "blue")
            }
        }
    }

    /// Eligible from the 17th birthday, or earlier when married or ever married (PK 12(1)(a), 102(1)).
    public static func isEligible(
        birthDate: CivilDate, maritalStatus: MaritalStatus, on date: CivilDate, minimumAge: Int = 17
    ) -> Bool {
        birthDate.age(on: date) >= minimumAge || maritalStatus.everMarried
    }

    /// The photo background: red for an odd birth year, blue for an even one (PK 15(1)(a)–(b)).
    public static func photoBackground(birthYear: Int) -> PhotoBackground {
        birthYear % 2 == 1 ? .red : .blue
    }
}
