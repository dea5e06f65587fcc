import Foundation
import KioskCore
import KioskDevices

/// `kiosk-bench voice`: from a screen change to the first audio sample. Cold: espeak-ng streaming to a pipe (the
/// first PCM bytes after the WAV header). Warm: the prompt cached as a WAV, looked up by its text and its first
/// audio read. Goal: under 300 ms.
func benchVoice() throws {
    guard EspeakVoice.available else {
        print("voice: espeak-ng is not installed (apt-get install espeak-ng); nothing measured")
        return
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: "\(findProfiles())/kota-kupang.json"))
    let profile = try JurisdictionProfile.load(data)
    let today = CivilDate(iso: "2026-12-03")!
    let info = KioskInfo(desaName: "Kelurahan Oebobo", openingHours: [], announcement: nil, profile: profile,
                         idleTimeoutSeconds: 120, demo: false)
    // The screens of the start of an application, as a resident meets them.
    var session = KioskSession(profile: profile, today: today, now: 0, idleTimeout: 120)
    var scripts: [String] = []
    func take() { if let s = SpokenScript.script(session, info: info) { scripts.append(SpeechNormalizer.normalize(s, language: .id)) } }
    take()
    _ = session.handle(.open(.apply), now: 1)
    take()
    if let category = profile.categories.first?.id {
        _ = session.handle(.apply(.chooseCategory(category)), now: 2)
        take()
    }
    _ = session.handle(.home, now: 3)
    _ = session.handle(.open(.status), now: 4)
    take()
    _ = session.handle(.home, now: 5)
    _ = session.handle(.open(.collect), now: 6)
    take()

    let cache = NSTemporaryDirectory() + "kiosk-bench-voice-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: cache) }
    let voice = EspeakVoice(cacheDir: cache)
    var cold: [Double] = [], warm: [Double] = [], render: [Double] = []
    for text in scripts {
        // Cold: time to the first PCM bytes espeak-ng streams (44-byte WAV header first).
        let start = monotonicSeconds()
        let child = try ChildProcess.spawn(["espeak-ng", "-v", "id", "--stdout", "--", text], stdout: .pipe, stderr: .null)
        var got = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while got <= 44, let fd = child.stdoutPipe {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            got += n
        }
        cold.append(monotonicSeconds() - start)
        child.kill(SIGKILL)
        if let fd = child.stdoutPipe { close(fd) }
        child.wait()
        // Render once into the cache (first use), then the warm path.
        let r0 = monotonicSeconds()
        _ = try voice.render(text, language: .id, volume: 100)
        render.append(monotonicSeconds() - r0)
        let w0 = monotonicSeconds()
        let wav = try voice.render(text, language: .id, volume: 100)
        let handle = FileHandle(forReadingAtPath: wav)
        _ = handle?.readData(ofLength: 4096)
        try? handle?.close()
        warm.append(monotonicSeconds() - w0)
    }
    func ms(_ xs: [Double], _ q: Double) -> String {
        let s = xs.sorted()
        return String(format: "%.1f", s[min(s.count - 1, Int(Double(s.count - 1) * q))] * 1000)
    }
    print("voice: \(scripts.count) screen scripts (home, apply, category, status, collect), espeak-ng voice id")
    print("voice: cold, screen change → first audio sample streamed: p50 \(ms(cold, 0.5)) ms, max \(ms(cold, 1)) ms (goal < 300 ms)")
    print("voice: first use, whole prompt rendered to the cache: p50 \(ms(render, 0.5)) ms, max \(ms(render, 1)) ms")
    print("voice: warm, cached prompt → first audio read: p50 \(ms(warm, 0.5)) ms, max \(ms(warm, 1)) ms (goal < 300 ms; the player's start adds to it)")
}
