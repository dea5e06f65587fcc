import Foundation
import KioskCore
import KioskDevices
import KioskService
import KioskTestSupport
import Testing

/// The `resident.*` methods on a real kioskd over its real socket (simulated devices), and `RemoteKioskServices`,
/// kiosk-ui's `KioskServices`, against it.
@Suite(.serialized) struct ResidentSocketTests {
    func draft(scans: [String: [String]], nik: String = SimulatedCardReader.testCardDigits) throws -> JSONValue {
        let today = UTCOffset(seconds: 8 * 3600).civilDate(of: Date())
        let birth = try #require(try FormSamples.profile("kota-kupang").service("birth"))
        var wire = ResidentWire.Draft(ApplicationDraft(
            id: UUID(), service: "birth", applicant: try NIK(SimulatedCardReader.testCardDigits, today: today),
            eventDate: today.adding(days: -20), facts: ["citizenship": .string("wni")], contact: "081234567890",
            scans: scans, form: FormSamples.answers(birth, facts: ["citizenship": .string("wni")], today: today,
                                                    nik: SimulatedCardReader.testCardDigits),
            consentVersion: ApplyFlow.consentVersion, language: .id))
        wire.applicantNIK = nik
        return .object(["draft": try JSONValue(encoding: wire)])
    }

    @Test func scansBelongToTheirSessionAndBadInputIsRefusedWithoutHarm() async throws {
        let k = try KioskdProcess(dinas: nil)
        let a = try k.startAndWait()
        let b = try k.connect()
        let work = "\(k.dataDir)/scans-work"
        func held() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).count }

        let scan = try await a.call("resident.scan", .object(["requirement": .string("surat-kelahiran")]))
        let token = try #require(scan["token"]?.stringValue)
        let summary = try scan.decode(ResidentWire.Scan.self).summary
        #expect(summary.pages == 1)
        #expect(summary.preview.map { $0.luma.count == $0.width * $0.height } == true, "the preview survives the wire")
        #expect(held() == 1)

        // Another session can neither discard nor submit A's scan.
        _ = try await b.call("resident.scan.discard", .object(["token": .string(token)]))
        #expect(held() == 1)
        let stolen = try self.draft(scans: ["surat-kelahiran": [token]])
        let badNIK = try self.draft(scans: ["surat-kelahiran": [token]], nik: "9999999999999999")
        let unknownRequirement = try self.draft(scans: ["surat-kelahiran": [token], "../../etc/passwd": [token]])
        do {
            _ = try await b.call("resident.submit", stolen)
            Issue.record("another session's scan was accepted")
        } catch {
            #expect(error.code == "scan_missing")
        }

        // Hostile or broken params: refused with a clear error, nothing stored, the daemon unharmed.
        for (method, params, code) in [
            ("resident.scan", JSONValue.object(["requirement": .string("surat-kelahiran"), "expected_pages": .number(0)]), "bad_params"),
            ("resident.scan", .object(["requirement": .string("a\u{1B}[2Jb")]), "bad_params"),
            ("resident.scan.discard", .object(["token": .number(3)]), "bad_params"),
            ("resident.status", .object(["tracking_code": .string(String(repeating: "A", count: 500))]), "bad_params"),
            ("resident.applications", .object(["nik": .string("1234")]), "invalid_nik"),
            ("resident.submit", badNIK, "invalid_nik"),
            ("resident.submit", unknownRequirement, "unknown_requirement"),
            ("resident.document.print", .object([:]), "bad_params"),
            ("resident.nothing", .object([:]), "unknown_method"),
        ] {
            do {
                _ = try await a.call(method, params)
                Issue.record("\(method) \(params) was accepted")
            } catch {
                #expect(error.code == code, "\(method): \(error.code) \(error.message.bilingual)")
            }
        }
        #expect(held() == 1, "the scan is still held")

        // A submits its own scan: stored, status and the resident's list agree.
        let receipt = try await a.call("resident.submit", try self.draft(scans: ["surat-kelahiran": [token]])).decode(ResidentWire.Receipt.self)
        #expect(held() == 0, "submitted scans leave the work folder")
        let status = try await a.call("resident.status", .object(["tracking_code": .string(receipt.trackingCode.raw)]))
            .decode(ResidentWire.Status.self)
        #expect(status.state == .submitted)
        let mine = try await b.call("resident.applications", .object(["nik": .string(SimulatedCardReader.testCardDigits)]))
            .decode([ResidentWire.Status].self)
        #expect(mine.map(\.trackingCode) == [receipt.trackingCode])

        // B scans and goes away: kioskd deletes the scan.
        _ = try await b.call("resident.scan", .object(["requirement": .string("surat-kelahiran")]))
        #expect(held() == 1)
        b.close()
        #expect(try eventually(within: 10) { held() == 0 })
        #expect(try a.callBlocking("staff.status")["health"]?.stringValue == "ok")
    }

    @Test func remoteServicesFollowKioskdAwayAndBack() async throws {
        let k = try KioskdProcess(dinas: nil)
        _ = try k.startAndWait()
        let remote = RemoteKioskServices(socket: k.socket, firstRetry: 0.1, maxRetry: 0.5)
        let run = Task { await remote.run() }
        defer { run.cancel() }
        var updates = remote.updates().makeAsyncIterator()
        var cards = remote.cardEvents().makeAsyncIterator()

        guard case .available(let info)? = await updates.next() else { Issue.record("no .available"); return }
        #expect(info.profile.id == "kota-kupang")
        #expect(info.profile.service("birth")?.products.count == 2, "the whole profile crossed the socket")
        #expect(info.deviceSummary?.contains("simulasi/simulated (F2)") == true)

        // The simulated reader's test card arrives as a validated NIK.
        #expect(await remote.tapTestCard())
        #expect(await cards.next() == .inserted(try NIK(SimulatedCardReader.testCardDigits, today: remote.today)))

        // A scan, then kioskd dies: calls fail calmly, the update says unavailable; it restarts and comes back.
        let scan = try await remote.scan(requirement: "surat-kelahiran", expectedPages: 1)
        #expect(scan.pages == 1)
        k.kill9()
        #expect(await updates.next() == .unavailable)
        do {
            _ = try await remote.status(trackingCode: "ABCDEFGH")
            Issue.record("a call with kioskd down succeeded")
        } catch {
            #expect(error.code == "unavailable")
            #expect(error.message == RemoteKioskServices.unavailableMessage)
        }
        try k.start()
        guard case .available? = await updates.next() else { Issue.record("no .available after restart"); return }
        // The restarted kioskd dropped the dead session's scan: submitting it is refused, not half-stored.
        let today = remote.today
        let draft = ApplicationDraft(id: UUID(), service: "birth", applicant: try NIK(SimulatedCardReader.testCardDigits, today: today),
                                     eventDate: today.adding(days: -20), facts: ["citizenship": .string("wni")], contact: nil,
                                     scans: ["surat-kelahiran": [scan.token]],
                                     form: FormSamples.answers(try #require(try FormSamples.profile("kota-kupang").service("birth")),
                                                               facts: ["citizenship": .string("wni")], today: today,
                                                               nik: SimulatedCardReader.testCardDigits),
                                     consentVersion: ApplyFlow.consentVersion, language: .id)
        do {
            _ = try await remote.submit(draft)
            Issue.record("a dead session's scan was accepted")
        } catch {
            #expect(error.code == "scan_missing")
        }
        #expect(await remote.deviceNotices().allSatisfy { !$0.message.id.isEmpty })
    }
}
