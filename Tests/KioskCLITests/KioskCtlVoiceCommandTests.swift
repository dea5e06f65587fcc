import Foundation
import Testing

@Suite struct KioskCtlVoiceCommandTests {
    @Test func normalizeSaysWhatTheKioskWouldSayAndNeverTheNIK() throws {
        let id = ctl(["voice", "normalize", "Biaya Rp 1.000.000; kode 5Q75-9W9Z; NIK 5371011708950003"])
        #expect(id.status == 0)
        #expect(id.out == "Biaya satu juta rupiah; kode lima, ki, tujuh, lima; sembilan, we, sembilan, zet; NIK nomor dirahasiakan\n")
        let en = ctl(["voice", "normalize", "--lang", "en", "--json", "Ready 2026-12-22"])
        #expect(try en.object()["spoken"] as? String == "Ready twenty-two December two thousand twenty-six")
        #expect(ctl(["voice", "normalize", "--lang", "jv", "x"]).status == 64)
        #expect(ctl(["voice", "normalize"]).status == 64)
    }

    @Test func renderWritesAWAVWithEspeak() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng"), "espeak-ng is needed (Kiosk/setup.sh)")
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("hello.wav").path
        let r = ctl(["voice", "render", "Selamat datang, kode 5Q75-9W9Z", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.err)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(data.prefix(4) == Data("RIFF".utf8) && data.subdata(in: 8..<12) == Data("WAVE".utf8))
        #expect(data.count > 22_050, "about a second of speech or more: \(data.count) bytes")
        #expect(ctl(["voice", "render", "x", "--out", "/nonexistent-dir/x.wav"]).status == 73)
    }
}
