import Foundation
import KioskCore

extension DinasClient {
    /// Largest answer `verify` reads.
    public static let verifyBodyLimit = 4096

    /// LOPE CAPIL: asks the Dinas, synchronously, whether a NIK and a KK number belong together
    /// (`POST /v1/verify`, PROTOCOL.md §8c), with the kiosk's bearer credential, on the configured origin only.
    /// The answer is untrusted: `name_masked` must be at most 80 characters, hold no control characters and no run
    /// of 6 or more digits (it must not look like a NIK); it is dropped on a non-match. Neither number is logged.
    ///
    /// - Throws: `SyncError.permanent(status: 422, code: "invalid_kk", …)` before sending when `kk` is not 16
    ///   digits; the classified errors of `send`; `.badResponse` for an answer that breaks the rules above.
    public func verify(nik: NIK, kk: String, deadline: Date? = nil) async throws(SyncError) -> VerifyResult {
        let kk = kk.trimmingCharacters(in: .whitespaces)
        guard kk.utf8.count == 16, kk.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw .permanent(status: 422, code: "invalid_kk", message: "the KK number must be 16 digits")
        }
        struct Request: Encodable {
            var nik: String
            var kk: String
        }
        struct Answer: Decodable {
            var match: Bool
            var nameMasked: String?

            enum CodingKeys: String, CodingKey {
                case match
                case nameMasked = "name_masked"
            }
        }
        let body = (try? KioskJSON.encode(Request(nik: nik.digits, kk: kk))) ?? Data()
        let response = try await self.send("POST", "/v1/verify", body: body,
                                           headers: ["Content-Type": "application/json"], deadline: deadline,
                                           maxBody: DinasClient.verifyBodyLimit)
        guard response.status == 200 else { throw .badResponse("verify answered HTTP \(response.status)") }
        let answer = try self.decode(Answer.self, response)
        guard answer.match else { return VerifyResult(match: false, nameMasked: nil) }
        guard let name = answer.nameMasked else { return VerifyResult(match: true, nameMasked: nil) }
        guard DinasClient.isAcceptableMaskedName(name) else {
            throw .badResponse("verify: name_masked refused (over 80 characters, control characters or digits)")
        }
        return VerifyResult(match: true, nameMasked: name.isEmpty ? nil : name)
    }

    /// ≤ 80 characters, no unsafe scalar, no run of 6 or more digits (a NIK or KK number must never come back).
    static func isAcceptableMaskedName(_ name: String) -> Bool {
        guard name.count <= 80, SafeText.firstUnsafe(in: name) == nil else { return false }
        var run = 0
        for ch in name.unicodeScalars {
            run = ch.properties.numericType != nil ? run + 1 : 0
            if run >= 6 { return false }
        }
        return true
    }
}
