import Foundation

/// Runs async work to completion on the calling thread.
///
/// kioskctl is synchronous; its device and sync work is async. Blocking a thread on a semaphore while the work
/// runs on Swift's global pool deadlocks when the caller is itself one of the pool's threads (tests run commands
/// in-process, in parallel, on a 2-core machine: two blocked callers starve the pool). Instead the caller becomes
/// the task's executor: the work's jobs (and its child tasks') are queued here and run on this thread.
final class CallerThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.condition.lock()
        self.jobs.append(job)
        self.condition.signal()
        self.condition.unlock()
    }

    /// Runs queued jobs until `finish()`.
    func drain() {
        while true {
            self.condition.lock()
            while self.jobs.isEmpty && !self.finished { self.condition.wait() }
            if self.jobs.isEmpty {
                self.condition.unlock()
                return
            }
            let job = self.jobs.removeFirst()
            self.condition.unlock()
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    func finish() {
        self.condition.lock()
        self.finished = true
        self.condition.signal()
        self.condition.unlock()
    }

    static func run<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        let executor = CallerThreadExecutor()
        let box = ResultBox<T>()
        Task(executorPreference: executor) {
            box.set(await work())
            executor.finish()
        }
        executor.drain()
        return box.get()
    }
}

private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    func set(_ v: T) { self.lock.lock(); self.value = v; self.lock.unlock() }
    func get() -> T { self.lock.lock(); defer { self.lock.unlock() }; return self.value! }
}
