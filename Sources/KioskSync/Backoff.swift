/// Jittered exponential backoff for transient failures: the first retry comes within `base` seconds
/// (≤ 60 s by default), each later one doubles, capped at `cap` (~15 min). Jitter spreads a fleet of kiosks.
public struct Backoff: Hashable, Sendable {
    public var base: Double
    public var cap: Double

    public init(base: Double = 30, cap: Double = 900) {
        self.base = base
        self.cap = cap
    }

    /// Delay before retry number `attempt` (1-based), with `jitter` in 0…1 (0.5…1.0 of the nominal delay).
    public func delay(attempt: Int, jitter: Double) -> Double {
        let nominal = min(self.cap, self.base * Double(1 << min(max(attempt - 1, 0), 20)))
        return nominal * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }
}

/// Picks upload chunk sizes from measured throughput so each request takes a few seconds, far below the
/// 30 s request timeout even at 64 kbit/s: between 64 KiB and 1 MiB.
///
/// A failed chunk halves the size and sets a ceiling just below the size that failed; growth after that is
/// additive (one step per success) and never passes the ceiling. The ceiling is probed upwards by one step only
/// after `probeAfter` successes in a row, so a link that drops every N bytes costs one failure to learn, not one
/// per chunk (issue 13: multiplicative growth back to 1 MiB made such a link cost 3× its payload).
public struct ChunkSizer: Hashable, Sendable {
    public static let minimum = 64 * 1024
    public static let maximum = 1024 * 1024
    public static let step = 16 * 1024
    /// Seconds one chunk should take at the measured rate.
    public var targetSeconds: Double
    public private(set) var current: Int
    /// Never grow past this: just below the smallest size that recently failed.
    public private(set) var ceiling: Int = ChunkSizer.maximum
    /// Smoothed throughput in bytes per second.
    public private(set) var throughput: Double?
    /// Successes in a row before the ceiling is raised by one step.
    public var probeAfter = 64
    private var successes = 0

    public init(initial: Int = 256 * 1024, targetSeconds: Double = 4) {
        self.current = ChunkSizer.clamp(initial)
        self.targetSeconds = targetSeconds
    }

    static func clamp(_ n: Int) -> Int {
        let rounded = (n / ChunkSizer.step) * ChunkSizer.step
        return min(ChunkSizer.maximum, max(ChunkSizer.minimum, rounded))
    }

    /// Feeds one finished chunk's size and duration; returns the next chunk size.
    @discardableResult
    public mutating func record(bytes: Int, seconds: Double) -> Int {
        guard bytes > 0 else { return self.current }
        let rate = Double(bytes) / max(seconds, 0.001)
        self.throughput = self.throughput.map { 0.5 * $0 + 0.5 * rate } ?? rate
        self.successes += 1
        if self.successes >= self.probeAfter, self.ceiling < ChunkSizer.maximum {
            self.ceiling = ChunkSizer.clamp(self.ceiling + ChunkSizer.step)
            self.successes = 0
        }
        let target = ChunkSizer.clamp(Int(min(self.throughput! * self.targetSeconds, Double(ChunkSizer.maximum))))
        // Additive increase: at most one minimum chunk per success, and never past the ceiling.
        let grown = target > self.current ? min(target, self.current + ChunkSizer.minimum) : target
        self.current = min(self.ceiling, ChunkSizer.clamp(grown))
        return self.current
    }

    /// A failed chunk: halve, and remember that this size failed.
    public mutating func recordFailure() {
        self.ceiling = max(ChunkSizer.minimum, ChunkSizer.clamp(self.current - ChunkSizer.step))
        self.current = ChunkSizer.clamp(self.current / 2)
        self.successes = 0
    }
}
