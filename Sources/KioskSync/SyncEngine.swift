#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import Synchronization

/// Tunables of the sync loop. Defaults follow PROTOCOL.md; tests shorten the delays.
public struct SyncOptions: Sendable {
    public var backoff = Backoff()
    /// While items back off, probe the Dinas this often; a success makes them due at once.
    public var probeInterval: Double = 30
    /// Quick resumptions of one upload within a pass (after a dropped connection) before backing off. Answers that
    /// make no progress (409, a 204 that does not advance, 410, 460, 422) count against the same budget.
    public var maxQuickRetries = 6
    public var quickRetryDelay: Double = 0.5
    /// Long-poll wait for the event feed.
    public var eventWait: Double = 0
    public var initialChunk = 256 * 1024
    public var kioskdVersion = KioskVersion.string
    /// Time budget of one pass when the caller gives no later deadline.
    public var passSeconds: Double = 300
    /// Event pages pulled in one pass (a cursor that never ends stops here; the rest waits for the next pass).
    public var maxEventPages = 20
    /// Times one pass recreates an expired upload (410) before the application backs off.
    public var maxExpiredRecreates = 2
    /// Largest document the kiosk downloads; the body is cut at the announced size (≤ this).
    public var maxDocumentBytes = 32 << 20

    public init() {}
}

/// What one pass did.
public struct PassResult: Sendable, Equatable {
    public var delivered = 0
    public var retried = 0
    public var quarantined = 0
    public var events = 0
    public var documentsStored = 0
    public var documentsRejected = 0
    public var complaintsSent = 0
    /// Complaint answers from the Dinas stored this pass.
    public var complaintAnswers = 0
    public var configApplied: Int?
    public var configRejected: String?
    public var authFailure: String?
    public var reachable = false
}

/// The kiosk side of kiosk-dinas/1: drains the queue with resumable uploads, confirms delivery by hashes, pulls
/// status and signed documents by cursor, fetches signed configuration and sends heartbeats.
///
/// Everything the Dinas says is untrusted input: numbers are range-checked (a bad one is an error, never a trap),
/// every loop has a budget per pass and every request honours the pass's deadline.
public final class SyncEngine: Sendable {
    public let store: KioskStore
    public let client: DinasClient
    public let trustedKeys: [Ed25519PublicKey]
    public let configStore: ConfigBundleStore?
    public let options: SyncOptions
    private let log: @Sendable (String) -> Void
    /// The device states the heartbeat reports (kioskd's device supervisor); nil: the last values kept in the store.
    private let deviceReport: (@Sendable () -> [String: Any])?
    /// One chunk sizer for the link, so what a failure taught outlives the attachment it happened on.
    private let sizer: Mutex<ChunkSizer>

    public init(store: KioskStore, client: DinasClient, trustedKeys: [Ed25519PublicKey], configStore: ConfigBundleStore?,
                options: SyncOptions = SyncOptions(), log: @escaping @Sendable (String) -> Void = { _ in },
                deviceReport: (@Sendable () -> [String: Any])? = nil) {
        self.deviceReport = deviceReport
        self.store = store
        self.client = client
        self.trustedKeys = trustedKeys
        self.configStore = configStore
        self.options = options
        // Log lines carry Dinas text (reasons, error messages): shown, never interpreted by a terminal.
        self.log = { log(SafeText.visible($0)) }
        self.sizer = Mutex(ChunkSizer(initial: options.initialChunk))
    }

    var kioskID: String { self.client.endpoint.kioskID }

    // MARK: - Passes and the loop

    /// The parts of a pass: kioskd runs forwarding on a submit, the pull and config fetch on its poll timer and the
    /// heartbeat on its own timer; `kioskctl sync run` does everything each pass.
    public struct Parts: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let heartbeat = Parts(rawValue: 1)
        public static let config = Parts(rawValue: 2)
        public static let forward = Parts(rawValue: 4)
        public static let complaints = Parts(rawValue: 8)
        public static let pull = Parts(rawValue: 16)
        public static let all: Parts = [.heartbeat, .config, .forward, .complaints, .pull]
    }

    /// One pass: heartbeat, config, every due upload, then the event feed. Stops at the first auth failure, and
    /// at `deadline` (default: `passSeconds` from now); what is left waits for the next pass.
    public func pass(deadline: Date? = nil, parts: Parts = .all) async -> PassResult {
        let deadline = deadline ?? Date().addingTimeInterval(self.options.passSeconds)
        var result = PassResult()
        do {
            if parts.contains(.heartbeat) {
                try await self.heartbeat(deadline: deadline)
                result.reachable = true
            }
            if parts.contains(.config) {
                try await self.fetchConfig(into: &result, deadline: deadline)
                result.reachable = true
            }
        } catch let e where e.isTransient {
            self.log("dinas unreachable: \(e)")
        } catch {
            return self.authFailed(error, &result)
        }
        let due = parts.contains(.forward) ? ((try? self.store.nextUploads(limit: 1000)) ?? []) : []
        for item in due {
            guard deadline.timeIntervalSinceNow > 0.05 else { break }
            switch await self.forward(item.applicationID, deadline: deadline) {
            case .delivered: result.delivered += 1; result.reachable = true
            case .retryLater: result.retried += 1
            case .quarantined: result.quarantined += 1
            case .authFailed(let e): return self.authFailed(e, &result)
            }
        }
        do {
            if parts.contains(.complaints) { try await self.sendComplaints(into: &result, deadline: deadline) }
            if parts.contains(.pull) {
                try await self.pullEvents(into: &result, deadline: deadline)
                result.reachable = true
            }
        } catch let e where e.isTransient {
            self.log("event pull failed: \(e)")
        } catch {
            return self.authFailed(error, &result)
        }
        if result.reachable { try? self.store.setSyncValue("last_success_at", KioskJSON.timestamp(Date())) }
        try? self.store.setSyncValue("last_pass_at", KioskJSON.timestamp(Date()))
        return result
    }

    private func authFailed(_ error: SyncError, _ result: inout PassResult) -> PassResult {
        let message = SafeText.strip("\(error)")
        result.authFailure = message
        try? self.store.setSyncValue("auth_alert", message)
        try? self.store.recordEvent(nil, event: "alert", actor: "kiosk", detail: "sync stopped: \(message)")
        self.log("ALERT: \(message); sync stopped until staff fixes the kiosk credential")
        return result
    }

    /// Runs passes until nothing is left to upload (`untilIdle`) or `deadline`. Backing-off items are made due
    /// as soon as a probe reaches the Dinas again. Returns the accumulated result. Every pass and every request
    /// ends by `deadline`; a deadline that has already passed when called means one pass of `passSeconds`.
    public func run(untilIdle: Bool, deadline: Date? = nil) async -> PassResult {
        try? self.store.setSyncValue("auth_alert", nil)
        var total = PassResult()
        let onePass = deadline.map { $0.timeIntervalSinceNow <= 0 } ?? false
        while true {
            let r = await self.pass(deadline: onePass ? nil : deadline)
            total.delivered += r.delivered
            total.retried += r.retried
            total.quarantined += r.quarantined
            total.events += r.events
            total.documentsStored += r.documentsStored
            total.documentsRejected += r.documentsRejected
            total.complaintsSent += r.complaintsSent
            total.complaintAnswers += r.complaintAnswers
            total.configApplied = r.configApplied ?? total.configApplied
            total.configRejected = r.configRejected ?? total.configRejected
            total.reachable = r.reachable
            if let auth = r.authFailure {
                total.authFailure = auth
                return total
            }
            let pending = (try? self.store.queueStats().queueCounts["pending"]) ?? 0
            if untilIdle && pending == 0 { return total }
            if onePass { return total }
            if let deadline, Date() >= deadline { return total }
            // Sleep until the next item is due, but probe the link at least every `probeInterval`.
            let next = (try? self.store.nextDueDate()) ?? nil
            var wait = min(self.options.probeInterval, max(0.05, (next?.timeIntervalSinceNow ?? self.options.probeInterval)))
            if let deadline { wait = min(wait, max(0, deadline.timeIntervalSinceNow)) }
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            if let deadline, Date() >= deadline { return total }
            if let next, next > Date(), await self.probe(deadline: deadline) {
                try? self.store.resetBackoff()
            }
        }
    }

    /// A cheap request that only a real Dinas answers correctly.
    public func probe(deadline: Date? = nil) async -> Bool {
        guard let r = try? await self.client.send("GET", "/v1/ping", deadline: deadline) else { return false }
        struct Ping: Decodable { var `protocol`: String }
        return (try? self.client.decode(Ping.self, r)) != nil
    }

    // MARK: - Forwarding

    public enum ForwardOutcome: Sendable, Equatable {
        case delivered
        case retryLater(String)
        case quarantined(String)
        case authFailed(SyncError)
    }

    /// Forwards one application: create idempotently, upload each attachment resumably, then confirm by hashes.
    public func forward(_ id: UUID, deadline: Date? = nil) async -> ForwardOutcome {
        let deadline = deadline ?? Date().addingTimeInterval(self.options.passSeconds)
        do {
            let source = try self.store.manifestSource(id)
            let app = source.application
            // A resubmission is the same PUT with the next revision (PROTOCOL.md §3a); uploads resume as ever.
            let manifest = Manifest(source: source, kioskID: self.kioskID)
            try self.store.markUploading(id)
            var remote = try await self.create(manifest, deadline: deadline)
            for attachment in app.attachments {
                guard let r = remote.attachments.first(where: { $0.seq == attachment.seq }) else {
                    throw SyncError.badResponse("Dinas does not list attachment \(attachment.seq)")
                }
                if r.complete { continue }
                try await self.upload(id, attachment, remote: r, manifest: manifest, refreshed: &remote, deadline: deadline)
            }
            // Delivered only when the Dinas confirms every attachment by hash and size.
            let confirmation = try self.client.decode(
                RemoteApplication.self,
                try await self.client.send("GET", "/v1/applications/\(manifest.id)", deadline: deadline))
            guard (confirmation.revision ?? 1) == manifest.revision else {
                throw SyncError.badResponse("Dinas holds revision \(confirmation.revision ?? 1), not \(manifest.revision)")
            }
            for attachment in app.attachments {
                guard let r = confirmation.attachments.first(where: { $0.seq == attachment.seq }), r.complete,
                      r.sha256 == attachment.sha256, r.size == attachment.size
                else { throw SyncError.badResponse("Dinas has not confirmed attachment \(attachment.seq)") }
            }
            try self.store.markDelivered(id, detail: "Dinas confirmed \(app.attachments.count) attachments by sha256")
            if let state = ApplicationState(rawValue: confirmation.state), state != .delivered {
                try self.store.applyDinasState(id, state, reason: Self.dinasText(confirmation.reason))
            }
            self.log("delivered \(app.trackingCode.formatted)")
            return .delivered
        } catch let error as SyncError {
            switch error {
            case .auth:
                try? self.store.recordAttempt(id, error: SafeText.strip("\(error)"), retryAt: Date())
                return .authFailed(error)
            case .permanent:
                try? self.store.quarantine(id, reason: SafeText.strip("\(error)"), actor: "kiosk")
                self.log("quarantined \(id): \(error)")
                return .quarantined(SafeText.strip("\(error)"))
            default:
                return self.retryLater(id, "\(error)")
            }
        } catch {
            return self.retryLater(id, "\(error)")
        }
    }

    /// Text from the Dinas as it may be stored: no control sequences, bounded length.
    static func dinasText(_ text: String?) -> String? {
        text.map { SafeText.strip(String($0.prefix(1000))) }
    }

    private func retryLater(_ id: UUID, _ message: String) -> ForwardOutcome {
        let message = SafeText.strip(message)
        let attempts = ((try? self.store.queueList().first { $0.applicationID == id }?.attempts) ?? 0) + 1
        let delay = self.options.backoff.delay(attempt: attempts, jitter: Double.random(in: 0...1))
        try? self.store.recordAttempt(id, error: message, retryAt: Date().addingTimeInterval(delay))
        self.log("retry \(id) in \(String(format: "%.1f", delay)) s: \(message)")
        return .retryLater(message)
    }

    private func create(_ manifest: Manifest, deadline: Date) async throws -> RemoteApplication {
        let response = try await self.client.send(
            "PUT", "/v1/applications/\(manifest.id)", body: manifest.canonicalJSON(),
            headers: ["Content-Type": "application/json"], deadline: deadline)
        guard response.status == 200 || response.status == 201 else {
            throw SyncError.badResponse("PUT answered \(response.status)")
        }
        let remote = try self.client.decode(RemoteApplication.self, response)
        for a in remote.attachments {
            guard let local = manifest.attachments.first(where: { $0.seq == a.seq }) else { continue }
            guard a.size == local.size, (0...local.size).contains(a.received) else {
                throw SyncError.badResponse("Dinas reports attachment \(a.seq) of size \(a.size) with received \(a.received) outside 0…\(local.size)")
            }
            _ = try self.client.url(a.uploadURL)
        }
        return remote
    }

    /// An offset header from the Dinas, accepted only within 0…size.
    static func offset(_ text: String?, size: Int, what: String) throws(SyncError) -> Int {
        guard let text else { throw .badResponse("\(what) without Upload-Offset") }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (0...size).contains(value) else {
            throw .badResponse("\(what): Upload-Offset \(DinasClient.shown(String(text.prefix(40)))) outside 0…\(size)")
        }
        return value
    }

    private func head(_ url: String, size: Int, deadline: Date) async throws -> Int {
        let r = try await self.client.send("HEAD", url, deadline: deadline)
        return try Self.offset(r.header("Upload-Offset"), size: size, what: "HEAD")
    }

    /// tus-like upload from the Dinas's confirmed offset; the offset and URL are persisted before each chunk.
    /// Bounded per pass: at most `maxQuickRetries` answers without progress, `maxExpiredRecreates` recreations,
    /// a request count proportional to the size, and the pass's deadline.
    private func upload(_ id: UUID, _ attachment: StoredAttachment, remote: RemoteApplication.Attachment,
                        manifest: Manifest, refreshed: inout RemoteApplication, deadline: Date) async throws {
        var url = remote.uploadURL
        _ = try self.client.url(url)
        let size = attachment.size
        guard (0...size).contains(remote.received) else {
            throw SyncError.badResponse("received \(remote.received) outside 0…\(size)")
        }
        var offset = remote.received
        var stalls = 0
        var recreated = 0
        var requests = 0
        let maxRequests = size / ChunkSizer.minimum + 4 * (self.options.maxQuickRetries + 2)
        var resync = false
        guard let handle = FileHandle(forReadingAtPath: self.store.path(of: attachment)) else {
            throw StoreError.attachmentMissing(path: attachment.file)
        }
        defer { try? handle.close() }
        func stalled(_ error: SyncError) throws {
            stalls += 1
            if stalls > self.options.maxQuickRetries { throw error }
        }
        while true {
            requests += 1
            guard requests <= maxRequests else {
                throw SyncError.badResponse("attachment \(attachment.seq): \(maxRequests) requests in one pass without finishing")
            }
            guard deadline.timeIntervalSinceNow > 0.05 else {
                throw SyncError.network("attachment \(attachment.seq): the pass's time budget is spent at offset \(offset)")
            }
            do {
                if resync {
                    offset = try await self.head(url, size: size, deadline: deadline)
                    resync = false
                }
                try self.store.saveUploadProgress(id, UploadProgress(seq: attachment.seq, uploadURL: url, confirmedOffset: offset))
                if offset >= size { return }
                let length = self.sizer.withLock { $0.current }
                try handle.seek(toOffset: UInt64(offset))
                let chunk = try handle.read(upToCount: min(length, size - offset)) ?? Data()
                guard !chunk.isEmpty else { throw StoreError.io("short read of \(attachment.file)", EIO) }
                let started = Date()
                let r = try await self.client.send(
                    "PATCH", url, body: chunk,
                    headers: ["Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset),
                              "Upload-Checksum": "sha256 \(Data(SHA256.hash(chunk)).base64EncodedString())"],
                    deadline: deadline)
                let confirmed = try Self.offset(r.header("Upload-Offset"), size: size, what: "PATCH")
                if confirmed > offset {
                    let seconds = Date().timeIntervalSince(started)
                    self.sizer.withLock { $0.record(bytes: confirmed - offset, seconds: seconds) }
                    offset = confirmed
                    stalls = 0
                } else {
                    offset = confirmed
                    try stalled(.badResponse("PATCH answered \(r.status) without progress (offset \(confirmed))"))
                }
            } catch SyncError.offsetConflict(let o) {
                if let o, !(0...size).contains(o) {
                    throw SyncError.badResponse("409: Upload-Offset \(o) outside 0…\(size)")
                }
                try stalled(.offsetConflict(o))
                if let o { offset = o } else { resync = true }
            } catch SyncError.uploadExpired {
                recreated += 1
                guard recreated <= self.options.maxExpiredRecreates else { throw SyncError.uploadExpired }
                try stalled(.uploadExpired)
                refreshed = try await self.create(manifest, deadline: deadline)
                guard let again = refreshed.attachments.first(where: { $0.seq == attachment.seq }) else {
                    throw SyncError.badResponse("Dinas does not list attachment \(attachment.seq)")
                }
                url = again.uploadURL
                offset = again.received
            } catch SyncError.attachmentHashMismatch {
                offset = 0
                try stalled(.attachmentHashMismatch)
            } catch let e as SyncError where e.isTransient {
                try stalled(e)
                if case .network = e { self.sizer.withLock { $0.recordFailure() } }
                let pause = min(self.options.quickRetryDelay * Double(stalls), max(0, deadline.timeIntervalSinceNow - 0.1))
                try? await Task.sleep(nanoseconds: UInt64(max(0, pause) * 1e9))
                resync = true
            }
        }
    }

    // MARK: - Events, documents

    private func pullEvents(into result: inout PassResult, deadline: Date) async throws(SyncError) {
        var cursor = Int((try? self.store.syncValue("events_cursor")) ?? nil ?? "0") ?? 0
        if cursor < 0 { cursor = 0 }
        for _ in 0..<max(1, self.options.maxEventPages) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0.05 else { return }
            let wait = self.options.eventWait > 0 ? "&wait=\(Int(min(self.options.eventWait, max(0, left - 2))))" : ""
            let page = try self.client.decode(
                EventPage.self,
                try await self.client.send("GET", "/v1/kiosks/\(self.kioskID)/events?cursor=\(cursor)\(wait)", deadline: deadline))
            for event in page.events.prefix(100) {
                guard deadline.timeIntervalSinceNow > 0.05 else { return }
                try await self.handle(event, into: &result, deadline: deadline)
                result.events += 1
            }
            guard page.cursor > cursor else { return }
            cursor = page.cursor
            try? self.store.setSyncValue("events_cursor", String(cursor))
            if page.events.isEmpty { return }
        }
        self.log("event feed: \(self.options.maxEventPages) pages in one pass; the rest waits for the next pass")
    }

    private func handle(_ event: DinasEvent, into result: inout PassResult, deadline: Date) async throws(SyncError) {
        if event.type == "complaint_answer" {
            guard let complaint = event.complaintID, let answer = event.answer, answer.utf8.count <= 64 * 1024 else { return }
            let stored = (try? self.store.recordComplaintAnswer(
                id: complaint, reference: event.reference.map { String($0.prefix(40)) }, answer: answer,
                answeredAt: event.at.flatMap(KioskJSON.date))) ?? false
            if stored { result.complaintAnswers += 1 }
            return
        }
        guard let id = UUID(uuidString: event.applicationID), (try? self.store.application(id.uuidString)) != nil else {
            self.log("event \(event.seq) for unknown application \(DinasClient.shown(event.applicationID)) ignored")
            return
        }
        switch event.type {
        case "state":
            guard let state = event.state.flatMap(ApplicationState.init(rawValue:)) else { return }
            // A state about an older revision (e.g. the return that a resubmission already answered) is stale.
            if let revision = event.revision, let local = try? self.store.application(id.uuidString).revision,
               revision < local {
                self.log("event \(event.seq): state for revision \(revision) of \(id) ignored (kiosk has \(local))")
                return
            }
            var correction: Correction?
            if state == .returnedForCorrection, let raw = event.correction {
                correction = raw.validated
                if correction == nil {
                    try? self.store.recordEvent(id, event: "correction_refused", actor: "kiosk",
                                                detail: "correction details out of bounds (≤ 40 ids, id and key patterns)")
                }
            }
            _ = try? self.store.applyDinasState(id, state, reason: Self.dinasText(event.reason), correction: correction)
        case "document":
            guard let docID = event.documentID, let product = event.product, let sha = event.sha256,
                  let signature = event.signature, let keyID = event.keyID
            else { return }
            if (try? self.store.documents(id).contains { $0.documentID == docID }) == true { return }
            func reject(_ why: String) {
                let why = SafeText.strip(why)
                let shownProduct = DinasClient.shown(product)
                result.documentsRejected += 1
                try? self.store.recordEvent(id, event: "document_rejected", actor: "kiosk", detail: "\(shownProduct): \(why)")
                try? self.store.setSyncValue("last_document_rejection", "\(shownProduct) for \(id): \(why)")
                self.log("REJECTED document \(shownProduct) for \(id): \(why)")
            }
            guard product.count <= 100, SafeText.firstUnsafe(in: product) == nil, docID.count <= 64,
                  SafeText.firstUnsafe(in: docID) == nil
            else { return reject("product or document id is not plain text") }
            // The store names the file by the id (hex and dashes, at most 40): refuse any other before downloading.
            guard docID.count <= 40, !docID.isEmpty, docID.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "-") }),
                  product.contains(where: { $0.isASCII && ($0.isLetter || $0.isNumber) })
            else { return reject("document id must be hex digits and dashes (at most 40)") }
            let limit = self.options.maxDocumentBytes
            if let size = event.size, !(0...limit).contains(size) {
                return reject("announced size \(size) outside 0…\(limit)")
            }
            let data: Data
            do {
                data = try await self.client.send("GET", event.url ?? "/v1/documents/\(docID)", deadline: deadline,
                                                  maxBody: event.size ?? limit).body
            } catch {
                if case .badResponse = error { return reject("\(error)") }
                throw error
            }
            do {
                try DocumentSignature.verify(document: data, sha256: sha, applicationID: id, product: product,
                                             signature: signature, keyID: keyID, trusted: self.trustedKeys)
                _ = try self.store.storeDocument(id, documentID: docID, product: product, data: data, sha256: sha,
                                                 signature: signature, keyID: keyID)
                result.documentsStored += 1
            } catch let rejection as DocumentRejection {
                reject("\(rejection)")
            } catch {
                throw .badResponse(SafeText.strip("storing document failed: \(error)"))
            }
        default:
            return
        }
    }

    // MARK: - Config and heartbeat

    private func fetchConfig(into result: inout PassResult, deadline: Date) async throws(SyncError) {
        guard let configStore = self.configStore else { return }
        let current = configStore.currentVersion(trusted: self.trustedKeys)
        let r = try await self.client.send("GET", "/v1/kiosks/\(self.kioskID)/config",
                                           headers: ["If-None-Match": "\"\(current)\""], deadline: deadline)
        guard r.status == 200, !r.body.isEmpty else { return }
        do {
            let payload = try configStore.apply(r.body, trusted: self.trustedKeys, kioskID: self.kioskID)
            result.configApplied = payload.version
            try? self.store.setSyncValue("config_version", String(payload.version))
            try? self.store.setSyncValue("config_rejected", nil)
            try? self.store.recordEvent(nil, event: "config_applied", actor: "dinas", detail: "version \(payload.version)")
            self.log("config version \(payload.version) applied")
        } catch ConfigApplyError.notNewer {
            return
        } catch {
            let why = SafeText.strip("\(error)")
            result.configRejected = why
            try? self.store.setSyncValue("config_rejected", why)
            try? self.store.recordEvent(nil, event: "config_rejected", actor: "kiosk", detail: why)
            self.log("REJECTED config bundle: \(error)")
        }
    }

    /// Sends the complaints residents filed at the kiosk, oldest first (`PUT /v1/complaints/{id}`, idempotent by
    /// id). A complaint the Dinas refuses as invalid is logged and marked sent so it cannot block the rest.
    private func sendComplaints(into result: inout PassResult, deadline: Date) async throws(SyncError) {
        for c in (try? self.store.unsentComplaints()) ?? [] {
            guard deadline.timeIntervalSinceNow > 0.05 else { return }
            var body: [String: Any] = [
                "reference": c.reference, "category": c.category, "body": c.body, "language": c.language,
                "created_at": KioskJSON.timestamp(c.createdAt), "kiosk_id": self.kioskID,
            ]
            if let contact = c.contact { body["contact"] = contact }
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            do {
                _ = try await self.client.send("PUT", "/v1/complaints/\(c.id)", body: data,
                                               headers: ["Content-Type": "application/json"], deadline: deadline)
            } catch {
                if error.isTransient { throw error }
                if case .auth = error { throw error }
                try? self.store.recordEvent(nil, event: "complaint_refused", actor: "dinas", detail: SafeText.strip("\(c.reference): \(error)"))
                self.log("complaint \(c.reference) refused: \(error)")
            }
            try? self.store.markComplaintSent(c.id)
            result.complaintsSent += 1
        }
    }

    /// The health the Dinas sees (architecture.md): versions, queue, devices, paper, disk.
    public func heartbeatBody() -> [String: Any] {
        let stats = try? self.store.queueStats()
        var fs = statvfs()
        let free = statvfs(self.store.directory, &fs) == 0 ? Int(fs.f_bavail) * Int(fs.f_frsize) : -1
        return [
            "protocol": DinasClient.protocolName, "kiosk_id": self.kioskID,
            "at": KioskJSON.timestamp(Date()),
            "versions": ["kioskd": self.options.kioskdVersion, "protocol": 1,
                         "config": self.configStore?.currentVersion(trusted: self.trustedKeys) ?? 0],
            "queue": ["depth": stats?.queueCounts["pending"] ?? 0, "quarantined": stats?.queueCounts["quarantined"] ?? 0,
                      "oldest_undelivered_seconds": stats?.oldestUndeliveredSeconds as Any,
                      "bytes_pending": stats?.bytesPending ?? 0],
            "devices": self.deviceReport?() ?? [
                "printer": (try? self.store.syncValue("device_printer")) ?? nil ?? "unknown",
                "scanner": (try? self.store.syncValue("device_scanner")) ?? nil ?? "unknown",
                "card_reader": (try? self.store.syncValue("device_card_reader")) ?? nil ?? "unknown"],
            "config_refused": ((try? self.store.syncValue("config_rejected")) ?? nil) as Any,
            "paper_estimate": ((try? self.store.syncValue("paper_sheets")) ?? nil).flatMap(Int.init) as Any,
            "disk_free_bytes": free,
        ]
    }

    func heartbeat(deadline: Date? = nil) async throws(SyncError) {
        let body = (try? JSONSerialization.data(withJSONObject: self.heartbeatBody(), options: [.sortedKeys])) ?? Data()
        _ = try await self.client.send("POST", "/v1/kiosks/\(self.kioskID)/heartbeat", body: body,
                                       headers: ["Content-Type": "application/json"], deadline: deadline)
    }
}
