import Foundation
import KioskCore

/// Spoken guidance through `espeak-ng` (Indonesian voice `id`, English `en`), offline, in subprocesses with a
/// watchdog like scanimage: a hung synthesizer or player is killed with its process group and never holds the UI.
/// Each text is rendered once to a WAV in `cacheDir` (named by a hash of voice, volume and text, with the text kept
/// beside it to rule out a collision), so a fixed prompt starts as fast as the player does; the player is `aplay`
/// when present, else espeak-ng speaks directly.
public final class EspeakVoice: VoiceOutput, @unchecked Sendable {
    // @unchecked: `current` and `generation` are only touched under `lock`.
    public let cacheDir: String
    public let renderTimeout: Double
    private let lock = NSLock()
    private var current: ChildProcess?
    private var generation = 0
    private let queue = DispatchQueue(label: "kiosk.voice")

    public init(cacheDir: String, renderTimeout: Double = 15) {
        self.cacheDir = cacheDir
        self.renderTimeout = renderTimeout
        try? FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
    }

    /// The espeak-ng voice for a language.
    public static func voiceName(_ language: Language) -> String { language == .id ? "id" : "en" }

    public static var available: Bool { Self.which("espeak-ng") != nil }

    static func which(_ program: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    public func speak(_ text: String, language: Language, volume: Int) {
        let text = String(text.prefix(2000))
        let generation: Int = self.lock.withLock {
            self.current?.kill(SIGKILL)
            self.current = nil
            self.generation += 1
            return self.generation
        }
        self.queue.async { [self] in
            guard let player = Self.which("aplay") else {
                // No ALSA player: espeak-ng speaks itself (no cache benefit, still offline).
                self.play(["espeak-ng", "-v", Self.voiceName(language), "-a", String(min(200, max(0, volume))), "--", text],
                          generation: generation, timeout: self.renderTimeout + 60)
                return
            }
            guard self.lock.withLock({ generation == self.generation }),
                  let wav = try? self.render(text, language: language, volume: volume) else { return }
            let seconds = Double(max(0, (try? FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int) ?? 0)) / 44_100
            self.play([player, "-q", wav], generation: generation, timeout: seconds + 5)
        }
    }

    public func stop() {
        self.lock.withLock {
            self.current?.kill(SIGKILL)
            self.current = nil
            self.generation += 1
        }
    }

    private func play(_ argv: [String], generation: Int, timeout: Double) {
        let child: ChildProcess? = self.lock.withLock {
            guard generation == self.generation, let c = try? ChildProcess.spawn(argv, stdout: .null, stderr: .null) else { return nil }
            self.current = c
            return c
        }
        guard let child else { return }
        _ = Self.waitBounded(child, timeout: timeout)
        self.lock.withLock { if self.current === child { self.current = nil } }
    }

    /// Waits for `child` at most `timeout` seconds, then kills its process group; its status, nil when killed.
    static func waitBounded(_ child: ChildProcess, timeout: Double) -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let status = child.poll() { return status }
            usleep(20_000)
        }
        child.kill(SIGKILL)
        child.wait()
        return nil
    }

    public struct RenderError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The WAV of `text` (rendered now, or from the cache); its path.
    @discardableResult
    public func render(_ text: String, language: Language, volume: Int) throws(RenderError) -> String {
        let volume = min(200, max(0, volume))
        let key = "\(Self.voiceName(language))|\(volume)|\(text)"
        let base = "\(self.cacheDir)/\(Self.hash(key))"
        if let kept = try? String(contentsOfFile: base + ".txt", encoding: .utf8), kept == key,
           FileManager.default.fileExists(atPath: base + ".wav") {
            return base + ".wav"
        }
        let tmp = "\(base).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).part"
        defer { unlink(tmp) }
        try Self.renderWAV(text, language: language, volume: volume, to: tmp, timeout: self.renderTimeout)
        try? Data(key.utf8).write(to: URL(fileURLWithPath: base + ".txt"))
        guard rename(tmp, base + ".wav") == 0 else { throw RenderError(description: "cannot store \(base).wav") }
        return base + ".wav"
    }

    /// Runs espeak-ng once, writing `path` (a RIFF/WAVE file), killed past `timeout`.
    public static func renderWAV(_ text: String, language: Language, volume: Int, to path: String,
                                 timeout: Double = 15) throws(RenderError) {
        let argv = ["espeak-ng", "-v", Self.voiceName(language), "-a", String(min(200, max(0, volume))), "-w", path, "--",
                    String(text.prefix(2000))]
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(argv, stdout: .null, stderr: .null)
        } catch {
            throw RenderError(description: "espeak-ng tidak terpasang / espeak-ng is not installed (\(error))")
        }
        guard let status = Self.waitBounded(child, timeout: timeout) else {
            throw RenderError(description: "espeak-ng tidak selesai dalam \(Int(timeout)) detik / espeak-ng did not finish within \(Int(timeout)) s")
        }
        guard status == 0, let header = FileHandle(forReadingAtPath: path)?.readData(ofLength: 12), header.count == 12,
              header.prefix(4) == Data("RIFF".utf8), header.suffix(4) == Data("WAVE".utf8)
        else { throw RenderError(description: "espeak-ng gagal (status \(status)) / espeak-ng failed (status \(status))") }
    }

    /// FNV-1a, twice with different bases: a file name, not a security boundary (the text is compared too).
    static func hash(_ s: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in s.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 1
        }
        return String(a, radix: 16) + String(b, radix: 16)
    }
}
