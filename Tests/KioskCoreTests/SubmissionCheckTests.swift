import Foundation
import KioskCore
import Testing

/// `Service.checkSubmission`: the one check of a submission's facts and contact (kioskctl and the kiosk use it).
@Suite struct SubmissionCheckTests {
    func service(_ id: String) throws -> Service {
        try #require(try loadProfile("kota-kupang").service(id))
    }

    @Test func declaredFactsOfTheRightKindPass() throws {
        try self.service("birth").checkSubmission(facts: ["citizenship": .string("wni")], contact: "081234567890")
        try self.service("stillbirth").checkSubmission(facts: ["gestation_weeks": .int(30)], contact: nil)
        // Facts common to every service are known too.
        try self.service("birth").checkSubmission(facts: ["approval_date": .date(d("2024-03-01"))], contact: nil)
    }

    @Test func unknownKeysAndWrongValuesAreRefusedBilingually() throws {
        let birth = try self.service("birth")
        #expect { try birth.checkSubmission(facts: ["favourite_colour": .string("blue")], contact: nil) } throws: {
            guard let e = $0 as? RulesError, case .unknownFact("favourite_colour", let known) = e else { return false }
            return known.contains("citizenship") && e.message.id.contains("tidak dipakai") && e.message.en?.contains("not used") == true
        }
        #expect { try birth.checkSubmission(facts: ["citizenship": .string("martian")], contact: nil) } throws: {
            ($0 as? RulesError)?.code == "bad_fact" && ($0 as? RulesError)?.message.en?.contains("one of: wni, wna") == true
        }
        #expect { try self.service("stillbirth").checkSubmission(facts: ["gestation_weeks": .string("lots")], contact: nil) } throws: {
            ($0 as? RulesError)?.code == "bad_fact"
        }
    }

    @Test(arguments: ["\u{1B}[31m", "\u{07}", "\u{7F}", "\u{9B}", "\u{202E}", "\u{200B}", "\u{2066}", "\n"])
    func controlAndInvisibleCharactersAreRefused(_ bad: String) throws {
        let marriage = try self.service("kk-new")
        #expect { try marriage.checkSubmission(facts: [:], contact: "0812\(bad)3456") } throws: {
            ($0 as? RulesError)?.code == "invalid_contact"
        }
        #expect { try marriage.checkSubmission(facts: ["citizenship\(bad)": .string("wni")], contact: nil) } throws: {
            guard let e = $0 as? RulesError, e.code == "unknown_fact" else { return false }
            return !e.message.bilingual.unicodeScalars.contains { SafeText.isUnsafe($0) }
        }
        // A free-text fact (kind text) with a control character: refused, not stored.
        let text = try #require(RulesEngine.commonFacts.first { $0.kind == .text }?.key)
        #expect { try marriage.checkSubmission(facts: [text: .string("2024-01-01\(bad)T08:00")], contact: nil) } throws: {
            ($0 as? RulesError)?.code == "bad_fact"
        }
    }

    @Test func anOverlongContactIsRefused() throws {
        #expect { try self.service("birth").checkSubmission(facts: [:], contact: String(repeating: "8", count: 65)) } throws: {
            ($0 as? RulesError)?.code == "invalid_contact"
        }
    }
}
