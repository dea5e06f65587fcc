#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Where spoken guidance goes: espeak-ng in a subprocess on a kiosk (`KioskDevices.EspeakVoice`), a silent twin in
/// tests. Texts arrive already normalised (`SpeechNormalizer`). Speaking replaces whatever is playing; `stop`
/// (any touch) silences it at once. A hung synthesizer never holds the caller: both return at once.
public protocol VoiceOutput: Sendable {
    func speak(_ text: String, language: Language, volume: Int)
    func stop()
}

/// Records what would have been spoken.
public final class SilentVoice: VoiceOutput {
    private let log = Mutex<[String]>([])
    private let stops = Mutex(0)

    public init() {}

    public func speak(_ text: String, language: Language, volume: Int) { self.log.withLock { $0.append(text) } }
    public func stop() { self.stops.withLock { $0 += 1 } }

    public var spoken: [String] { self.log.withLock { $0 } }
    public var stopCount: Int { self.stops.withLock { $0 } }
}
