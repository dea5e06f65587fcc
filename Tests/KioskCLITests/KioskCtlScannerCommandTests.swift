import Foundation
import Testing

/// kioskctl scanner list / scan against the real `scanimage -d test`.
@Suite struct KioskCtlScannerCommandTests {
    func pages(_ r: CtlResult) throws -> [[String: Any]] {
        try #require(try r.object()["pages"] as? [[String: Any]], "\(r.out) \(r.err)")
    }

    @Test func listUsesThePrivateSANEConfig() throws {
        let r = ctl(["scanner", "list", "--json"],
                    environment: ["SANE_CONFIG_DIR": packageRoot.appendingPathComponent("Hardware/scanner/sane.d").path])
        #expect(r.status == 0, "\(r.err)")
        let devices = try #require(try r.json() as? [[String: Any]])
        #expect(devices.contains { $0["name"] as? String == "test:0" })
    }

    @Test func scanListsEachPageWithSizeAndChecks() throws {
        let out = try makeTempDir().appendingPathComponent("scans").path
        let r = ctl(["scan", "--out", out, "--device", "test", "--pages", "3", "--option=--test-picture=Grid", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let list = try pages(r)
        #expect(list.count == 3)
        for (i, page) in list.enumerated() {
            let path = try #require(page["path"] as? String)
            #expect(path == out + String(format: "/page-%03d.jpg", i + 1))
            #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == page["bytes"] as? Int)
            let checks = try #require(page["checks"] as? [String: Any])
            #expect(checks["blank"] as? Bool == false)
        }
        let feeder = ctl(["scan", "--out", out, "--device", "test", "--feeder", "--option=--test-picture=Grid", "--json"])
        #expect(try pages(feeder).count == 10, "the test feeder holds ten sheets")
    }

    @Test func failuresExitNonZeroWithTheMappedMessage() throws {
        let out = try makeTempDir().appendingPathComponent("scans").path
        let blank = ctl(["scan", "--out", out, "--device", "test", "--option=--test-picture=Solid white"])
        #expect(blank.status == 65)
        #expect(blank.err.contains("kosong") && blank.err.contains("blank"))
        let jam = ctl(["scan", "--out", out, "--device", "test", "--option=--read-return-value=SANE_STATUS_JAMMED", "--json"])
        #expect(jam.status == 1)
        #expect(jam.err.contains("tersangkut") || jam.out.contains("tersangkut"), "\(jam.out) \(jam.err)")
        let bad = ctl(["scan", "--out", out, "--device", "nosuchdev"])
        #expect(bad.status == 66)
        #expect(bad.err.contains("\"nosuchdev\""))
        #expect(ctl(["scan", "--out", out, "--pages", "0", "--device", "test"]).status == 65)
        #expect(ctl(["scan", "--device", "test"]).status == 64)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).isEmpty, "nothing half-written")
    }
}
