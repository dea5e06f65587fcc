import Foundation
import KioskCore
import KioskDevices
import Testing
@testable import KioskUI

/// Issue 19 at the screen: every resident screen speaks its script when it opens, "Dengarkan" replays it, a touch
/// silences it, and nothing protected (NIK, KK, names, dates of birth) ever reaches the synthesizer.
@MainActor
@Suite struct VoiceScreenTests {
    static let protected = ["5371011708950003", "5371010101010001", "MARIA", "NDUN", "17081995"]

    func harness(width: Int = 80, height: Int = 24) async throws -> (AppHarness, SilentVoice) {
        let h = try await AppHarness(width: width, height: height)
        let voice = SilentVoice()
        h.app.voice = voice
        h.app.draw()
        return (h, voice)
    }

    /// Every screen the walk showed had its script spoken, and no script holds protected data.
    func check(_ h: AppHarness, _ voice: SilentVoice, sourceLocation: SourceLocation = #_sourceLocation) {
        let unspoken = h.visits.filter { $0.screen != nil && !($0.screen ?? "").hasPrefix("staff") && $0.screen != $0.spoken }
        #expect(unspoken.isEmpty, "screens without their script: \(unspoken.map { $0.screen ?? "?" })", sourceLocation: sourceLocation)
        for text in voice.spoken {
            for p in Self.protected { #expect(!text.localizedCaseInsensitiveContains(p), "\(p) spoken in: \(text)", sourceLocation: sourceLocation) }
            #expect(text.range(of: "[0-9]{4}", options: .regularExpression) == nil, "digits reach the synthesizer: \(text)",
                    sourceLocation: sourceLocation)
            #expect(!text.contains("*") && !text.contains("\u{1B}"), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [(80, 24), (40, 12)])
    func aWholeBirthApplicationIsSpokenWithoutTheNIKOrNames(size: (Int, Int)) async throws {
        let (h, voice) = try await self.harness(width: size.0, height: size.1)
        #expect(voice.spoken.first?.hasPrefix("Selamat datang di kios layanan kependudukan") == true)
        await h.applyForBirth()
        h.visited()
        self.check(h, voice)
        let keys = Set(h.visits.compactMap(\.spoken))
        #expect(keys.count >= 12, "every step of the application has a script: \(keys.sorted())")
        // The tracking code is read letter by letter.
        let done = try #require(voice.spoken.last)
        #expect(done.contains(SpeechNormalizer.spell(h.services.code.formatted, .id)), "\(done)")
        #expect(done.contains("Nomor NIK") == false && voice.spoken.contains { $0.contains("Nomor NIK sudah diterima") })
    }

    /// espeak-ng really renders every script of a whole application (Indonesian and English) to a WAV, and the
    /// second time it comes from the cache.
    @Test func espeakRendersEveryScriptOfAnApplication() async throws {
        try #require(EspeakVoice.available, "espeak-ng is needed (Kiosk/setup.sh installs it)")
        let (h, voice) = try await self.harness()
        await h.applyForBirth()
        h.app.input(Array("\u{1B}[24~".utf8))  // English too
        let scripts = Array(Set(voice.spoken)).sorted()
        #expect(scripts.count >= 12)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("voice-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let espeak = EspeakVoice(cacheDir: dir)
        for text in scripts {
            let language: Language = text.hasPrefix("Welcome") || text.contains(" the ") ? .en : .id
            let wav = try espeak.render(text, language: language, volume: 100)
            let data = try Data(contentsOf: URL(fileURLWithPath: wav))
            #expect(data.prefix(4) == Data("RIFF".utf8) && data.count > 44 + 22_050 / 2, "\(data.count) bytes for: \(text)")
            #expect(try espeak.render(text, language: language, volume: 100) == wav, "cached by its text")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".wav") }.count == scripts.count)
    }

    @Test func statusCollectComplaintVerifyAndInformationAreSpoken() async throws {
        let (h, voice) = try await self.harness()
        h.services.state.withLock {
            $0.status = ApplicationStatus(trackingCode: h.services.code, serviceName: LocalizedText("Akta Kelahiran", "Birth"),
                                          state: .ready, history: [], expected: [], reason: nil)
            $0.registryCheck = true
        }
        h.app.apply(.configChanged(await h.services.info()))
        h.tap("Informasi Layanan")
        h.tap("Akta Kelahiran")
        h.tap("Beranda")
        h.tap("Cek Status")
        h.type(h.services.code.raw + "\r")
        await h.settle { h.text.contains("Riwayat") || h.text.contains("Siap") }
        h.visited()
        h.tap("Beranda")
        h.tap("Ambil Dokumen")
        h.app.input(Array("\u{1B}OQ".utf8))  // F2: the test card
        await h.settle { h.text.contains("Ketik kode pelacakan") }
        h.visited()
        h.type(h.services.code.raw + "\r")
        await h.settle { h.text.contains("Dokumen siap dicetak") }
        h.visited()
        h.tap("Beranda")
        h.tap("Pengaduan")
        h.tap("Kios / perangkat rusak")
        h.tap("Beranda")
        h.tap("Cek NIK & KK")
        h.type("5371011708950003\r")
        await h.settle { h.text.contains("KK: ") }
        h.visited()
        h.type("5371010101010001\r")
        await h.settle { h.text.contains("Terdaftar") }
        h.visited()
        self.check(h, voice)
        #expect(voice.spoken.contains { $0.contains("Persyaratan:") })
        #expect(voice.spoken.contains { $0.contains("Data cocok") })
    }

    @Test func listenReplaysATouchSilencesAndTheBundleCanTurnItOff() async throws {
        let (h, voice) = try await self.harness()
        let first = voice.spoken.count
        #expect(h.target("Dengarkan") != nil)
        let stopsBefore = voice.stopCount
        h.tap("Dengarkan")
        #expect(voice.stopCount > stopsBefore, "the touch silenced what was playing")
        #expect(voice.spoken.count == first + 1)
        #expect(voice.spoken.last == voice.spoken[first - 1])
        // English when toggled.
        h.app.input(Array("\u{1B}[24~".utf8))
        #expect(voice.spoken.last?.hasPrefix("Welcome to the population services kiosk") == true)

        var info = await h.services.info()
        info.voiceEnabled = false
        h.app.apply(.configChanged(info))
        let count = voice.spoken.count
        h.tap("Apply")
        #expect(h.text.contains("Apply"))
        #expect(voice.spoken.count == count, "voice_enabled false: silent")
        #expect(h.target("Listen") == nil && h.target("Dengarkan") == nil)
    }

    @Test func theStaffScreensAndTheIdleCountdownAreNotRepeated() async throws {
        let (h, voice) = try await self.harness()
        h.tap("Ajukan Permohonan")
        h.clock.advance(50)
        h.app.tick()
        #expect(voice.spoken.last?.hasPrefix("Masih di sana?") == true)
        let n = voice.spoken.count
        h.clock.advance(1)
        h.app.tick()
        h.clock.advance(1)
        h.app.tick()
        #expect(voice.spoken.count == n, "the countdown is said once, not every second")
    }
}
