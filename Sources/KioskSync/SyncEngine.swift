#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskStore

/// Tunables of the sync loop. Defaults follow PROTOCOL.md; tests shorten the delays.
public struct SyncOptions: Sendable {
    public var backoff = Backoff()
    /// While items back off, probe the Dinas this often; a success makes them due at once.
    public var probeInterval: Double = 30
    /// Quick resumptions of one upload within a pass (after a dropped connection) before backing off.
    public var maxQuickRetries = 6
    public var quickRetryDelay: Double = 0.5
    /// Long-poll wait for the event feed.
    public var eventWait: Double = 0
    public var initialChunk = 256 * 1024
    public var kioskdVersion = "0.1.0"

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
    public var configApplied: Int?
    public var configRejected: String?
    public var authFailure: String?
    public var reachable = false
}

/// The kiosk side of kiosk-dinas/1: drains the queue with resumable uploads, confirms delivery by hashes, pulls
/// status and signed documents by cursor, fetches signed configuration and sends heartbeats.
public final class SyncEngine: Sendable {
    public let store: KioskStore
    public let client: DinasClient
    public let trustedKeys: [Ed25519PublicKey]
    public let configStore: ConfigBundleStore?
    public let options: SyncOptions
    private let log: @Sendable (String) -> Void

    public init(store: KioskStore, client: DinasClient, trustedKeys: [Ed25519PublicKey], configStore: ConfigBundleStore?,
                options: SyncOptions = SyncOptions(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.client = client
        self.trustedKeys = trustedKeys
        self.configStore = configStore
        self.options = options
        self.log = log
    }

    var kioskID: String { self.client.endpoint.kioskID }

    // MARK: - Passes and the loop

    /// One pass: heartbeat, config, every due upload, then the event feed. Stops at the first auth failure.
    public func pass() async -> PassResult {
        var result = PassResult()
        do {
            try await self.heartbeat()
            result.reachable = true
            try await self.fetchConfig(into: &result)
        } catch let e where e.isTransient {
            self.log("dinas unreachable: \(e)")
        } catch {
            return self.authFailed(error, &result)
        }
        let due = (try? self.store.nextUploads(limit: 1000)) ?? []
        for item in due {
            switch await self.forward(item.applicationID) {
            case .delivered: result.delivered += 1
            case .retryLater: result.retried += 1
            case .quarantined: result.quarantined += 1
            case .authFailed(let e): return self.authFailed(e, &result)
            }
        }
        do {
            try await self.sendComplaints(into: &result)
            try await self.pullEvents(into: &result)
            result.reachable = true
        } catch let e where e.isTransient {
            self.log("event pull failed: \(e)")
        } catch {
            return self.authFailed(error, &result)
        }
        try? self.store.setSyncValue("last_pass_at", ISO8601DateFormatter().string(from: Date()))
        return result
    }

    private func authFailed(_ error: SyncError, _ result: inout PassResult) -> PassResult {
        let message = "\(error)"
        result.authFailure = message
        try? self.store.setSyncValue("auth_alert", message)
        try? self.store.recordEvent(nil, event: "alert", actor: "kiosk", detail: "sync stopped: \(message)")
        self.log("ALERT: \(message); sync stopped until staff fixes the kiosk credential")
        return result
    }

    /// Runs passes until nothing is left to upload (`untilIdle`) or `deadline`. Backing-off items are made due
    /// as soon as a probe reaches the Dinas again. Returns the accumulated result.
    public func run(untilIdle: Bool, deadline: Date? = nil) async -> PassResult {
        try? self.store.setSyncValue("auth_alert", nil)
        var total = PassResult()
        while true {
            let r = await self.pass()
            total.delivered += r.delivered
            total.retried += r.retried
            total.quarantined += r.quarantined
            total.events += r.events
            total.documentsStored += r.documentsStored
            total.documentsRejected += r.documentsRejected
            total.complaintsSent += r.complaintsSent
            total.configApplied = r.configApplied ?? total.configApplied
            total.configRejected = r.configRejected ?? total.configRejected
            total.reachable = r.reachable
            if let auth = r.authFailure {
                total.authFailure = auth
                return total
            }
            let pending = (try? self.store.queueStats().queueCounts["pending"]) ?? 0
            if untilIdle && pending == 0 { return total }
            if let deadline, Date() >= deadline { return total }
            // Sleep until the next item is due, but probe the link at least every `probeInterval`.
            let next = (try? self.store.nextDueDate()) ?? nil
            var wait = min(self.options.probeInterval, max(0.05, (next?.timeIntervalSinceNow ?? self.options.probeInterval)))
            if let deadline { wait = min(wait, max(0, deadline.timeIntervalSinceNow)) }
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            if let next, next > Date(), await self.probe() {
                try? self.store.resetBackoff()
            }
        }
    }

    /// A cheap request that only a real Dinas answers correctly.
    public func probe() async -> Bool {
        guard let r = try? await self.client.send("GET", "/v1/ping") else { return false }
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
    public func forward(_ id: UUID) async -> ForwardOutcome {
        do {
            let source = try self.store.manifestSource(id)
            let app = source.application
            let manifest = Manifest(
                id: id.uuidString.lowercased(), kioskID: self.kioskID, service: app.service, profile: app.profile,
                applicantNIK: source.applicantNIK, eventDate: app.eventDate.description, contact: app.contact,
                facts: source.facts.mapValues(\.description),
                submittedAt: ISO8601DateFormatter().string(from: app.submittedAt ?? app.createdAt),
                attachments: app.attachments.map {
                    Manifest.Attachment(seq: $0.seq, requirement: $0.requirement, mediaType: $0.mediaType, size: $0.size,
                                        sha256: $0.sha256)
                })
            try self.store.markUploading(id)
            var remote = try await self.create(manifest)
            for attachment in app.attachments {
                guard let r = remote.attachments.first(where: { $0.seq == attachment.seq }) else {
                    throw SyncError.badResponse("Dinas does not list attachment \(attachment.seq)")
                }
                if r.complete { continue }
                try await self.upload(id, attachment, remote: r, manifest: manifest, refreshed: &remote)
            }
            // Delivered only when the Dinas confirms every attachment by hash and size.
            let confirmation = try self.client.decode(
                RemoteApplication.self, try await self.client.send("GET", "/v1/applications/\(manifest.id)"))
            for attachment in app.attachments {
                guard let r = confirmation.attachments.first(where: { $0.seq == attachment.seq }), r.complete,
                      r.sha256 == attachment.sha256, r.size == attachment.size
                else { throw SyncError.badResponse("Dinas has not confirmed attachment \(attachment.seq)") }
            }
            try self.store.markDelivered(id, detail: "Dinas confirmed \(app.attachments.count) attachments by sha256")
            if let state = ApplicationState(rawValue: confirmation.state), state != .delivered {
                try self.store.applyDinasState(id, state, reason: confirmation.reason)
            }
            self.log("delivered \(app.trackingCode.formatted)")
            return .delivered
        } catch let error as SyncError {
            switch error {
            case .auth:
                try? self.store.recordAttempt(id, error: "\(error)", retryAt: Date())
                return .authFailed(error)
            case .permanent:
                try? self.store.quarantine(id, reason: "\(error)", actor: "kiosk")
                self.log("quarantined \(id): \(error)")
                return .quarantined("\(error)")
            default:
                return self.retryLater(id, "\(error)")
            }
        } catch {
            return self.retryLater(id, "\(error)")
        }
    }

    private func retryLater(_ id: UUID, _ message: String) -> ForwardOutcome {
        let attempts = ((try? self.store.queueList().first { $0.applicationID == id }?.attempts) ?? 0) + 1
        let delay = self.options.backoff.delay(attempt: attempts, jitter: Double.random(in: 0...1))
        try? self.store.recordAttempt(id, error: message, retryAt: Date().addingTimeInterval(delay))
        self.log("retry \(id) in \(String(format: "%.1f", delay)) s: \(message)")
        return .retryLater(message)
    }

    private func create(_ manifest: Manifest) async throws -> RemoteApplication {
        let response = try await self.client.send(
            "PUT", "/v1/applications/\(manifest.id)", body: manifest.canonicalJSON(),
            headers: ["Content-Type": "application/json"])
        guard response.status == 200 || response.status == 201 else {
            throw SyncError.badResponse("PUT answered \(response.status)")
        }
        return try self.client.decode(RemoteApplication.self, response)
    }

    private func head(_ url: String) async throws -> Int {
        let r = try await self.client.send("HEAD", url)
        guard let offset = r.header("Upload-Offset").flatMap(Int.init) else {
            throw SyncError.badResponse("HEAD without Upload-Offset")
        }
        return offset
    }

    /// tus-like upload from the Dinas's confirmed offset; the offset and URL are persisted before each chunk.
    private func upload(_ id: UUID, _ attachment: StoredAttachment, remote: RemoteApplication.Attachment,
                        manifest: Manifest, refreshed: inout RemoteApplication) async throws {
        let url = remote.uploadURL
        var offset = remote.received
        var sizer = ChunkSizer(initial: self.options.initialChunk)
        var failures = 0
        var resync = false
        guard let handle = FileHandle(forReadingAtPath: self.store.path(of: attachment)) else {
            throw StoreError.attachmentMissing(path: attachment.file)
        }
        defer { try? handle.close() }
        while true {
            do {
                if resync {
                    offset = try await self.head(url)
                    resync = false
                }
                try self.store.saveUploadProgress(id, UploadProgress(seq: attachment.seq, uploadURL: url, confirmedOffset: offset))
                if offset >= attachment.size { return }
                try handle.seek(toOffset: UInt64(offset))
                let chunk = try handle.read(upToCount: min(sizer.current, attachment.size - offset)) ?? Data()
                guard !chunk.isEmpty else { throw StoreError.io("short read of \(attachment.file)", EIO) }
                let started = Date()
                let r = try await self.client.send(
                    "PATCH", url, body: chunk,
                    headers: ["Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset),
                              "Upload-Checksum": "sha256 \(Data(SHA256.hash(chunk)).base64EncodedString())"])
                guard let confirmed = r.header("Upload-Offset").flatMap(Int.init) else {
                    throw SyncError.badResponse("PATCH without Upload-Offset")
                }
                sizer.record(bytes: confirmed - offset, seconds: Date().timeIntervalSince(started))
                offset = confirmed
                failures = 0
            } catch SyncError.offsetConflict(let o) {
                if let o { offset = o } else { resync = true }
            } catch SyncError.uploadExpired {
                refreshed = try await self.create(manifest)
                offset = refreshed.attachments.first { $0.seq == attachment.seq }?.received ?? 0
            } catch SyncError.attachmentHashMismatch {
                offset = 0
                failures += 1
                if failures > self.options.maxQuickRetries { throw SyncError.attachmentHashMismatch }
            } catch let e as SyncError where e.isTransient {
                failures += 1
                sizer.recordFailure()
                if failures > self.options.maxQuickRetries { throw e }
                try? await Task.sleep(nanoseconds: UInt64(self.options.quickRetryDelay * Double(failures) * 1e9))
                resync = true
            }
        }
    }

    // MARK: - Events, documents

    private func pullEvents(into result: inout PassResult) async throws(SyncError) {
        var cursor = Int((try? self.store.syncValue("events_cursor")) ?? nil ?? "0") ?? 0
        while true {
            let wait = self.options.eventWait > 0 ? "&wait=\(self.options.eventWait)" : ""
            let page = try self.client.decode(
                EventPage.self, try await self.client.send("GET", "/v1/kiosks/\(self.kioskID)/events?cursor=\(cursor)\(wait)"))
            for event in page.events {
                try await self.handle(event, into: &result)
                result.events += 1
            }
            guard page.cursor > cursor else { return }
            cursor = page.cursor
            try? self.store.setSyncValue("events_cursor", String(cursor))
            if page.events.isEmpty { return }
        }
    }

    private func handle(_ event: DinasEvent, into result: inout PassResult) async throws(SyncError) {
        guard let id = UUID(uuidString: event.applicationID), (try? self.store.application(id.uuidString)) != nil else {
            self.log("event \(event.seq) for unknown application \(event.applicationID) ignored")
            return
        }
        switch event.type {
        case "state":
            guard let state = event.state.flatMap(ApplicationState.init(rawValue:)) else { return }
            _ = try? self.store.applyDinasState(id, state, reason: event.reason)
        case "document":
            guard let docID = event.documentID, let product = event.product, let sha = event.sha256,
                  let signature = event.signature, let keyID = event.keyID
            else { return }
            if (try? self.store.documents(id).contains { $0.documentID == docID }) == true { return }
            let data = try await self.client.send("GET", event.url ?? "/v1/documents/\(docID)").body
            do {
                try DocumentSignature.verify(document: data, sha256: sha, signature: signature, keyID: keyID,
                                             trusted: self.trustedKeys)
                _ = try self.store.storeDocument(id, documentID: docID, product: product, data: data, sha256: sha,
                                                 signature: signature, keyID: keyID)
                result.documentsStored += 1
            } catch let rejection as DocumentRejection {
                result.documentsRejected += 1
                try? self.store.recordEvent(id, event: "document_rejected", actor: "kiosk", detail: "\(product): \(rejection)")
                try? self.store.setSyncValue("last_document_rejection", "\(product) for \(id): \(rejection)")
                self.log("REJECTED document \(product) for \(id): \(rejection)")
            } catch {
                throw .badResponse("storing document failed: \(error)")
            }
        default:
            return
        }
    }

    // MARK: - Config and heartbeat

    private func fetchConfig(into result: inout PassResult) async throws(SyncError) {
        guard let configStore = self.configStore else { return }
        let current = configStore.currentVersion(trusted: self.trustedKeys)
        let r = try await self.client.send("GET", "/v1/kiosks/\(self.kioskID)/config",
                                           headers: ["If-None-Match": "\"\(current)\""])
        guard r.status == 200, !r.body.isEmpty else { return }
        do {
            let payload = try configStore.apply(r.body, trusted: self.trustedKeys, kioskID: self.kioskID)
            result.configApplied = payload.version
            try? self.store.setSyncValue("config_version", String(payload.version))
            try? self.store.recordEvent(nil, event: "config_applied", actor: "dinas", detail: "version \(payload.version)")
            self.log("config version \(payload.version) applied")
        } catch ConfigApplyError.notNewer {
            return
        } catch {
            result.configRejected = "\(error)"
            try? self.store.setSyncValue("config_rejected", "\(error)")
            try? self.store.recordEvent(nil, event: "config_rejected", actor: "kiosk", detail: "\(error)")
            self.log("REJECTED config bundle: \(error)")
        }
    }

    /// Sends the complaints residents filed at the kiosk, oldest first (`PUT /v1/complaints/{id}`, idempotent by
    /// id). A complaint the Dinas refuses as invalid is logged and marked sent so it cannot block the rest.
    private func sendComplaints(into result: inout PassResult) async throws(SyncError) {
        for c in (try? self.store.unsentComplaints()) ?? [] {
            var body: [String: Any] = [
                "reference": c.reference, "category": c.category, "body": c.body, "language": c.language,
                "created_at": ISO8601DateFormatter().string(from: c.createdAt), "kiosk_id": self.kioskID,
            ]
            if let contact = c.contact { body["contact"] = contact }
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            do {
                _ = try await self.client.send("PUT", "/v1/complaints/\(c.id)", body: data,
                                               headers: ["Content-Type": "application/json"])
            } catch {
                if error.isTransient { throw error }
                if case .auth = error { throw error }
                try? self.store.recordEvent(nil, event: "complaint_refused", actor: "dinas", detail: "\(c.reference): \(error)")
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
            "at": ISO8601DateFormatter().string(from: Date()),
            "versions": ["kioskd": self.options.kioskdVersion, "protocol": 1,
                         "config": self.configStore?.currentVersion(trusted: self.trustedKeys) ?? 0],
            "queue": ["depth": stats?.queueCounts["pending"] ?? 0, "quarantined": stats?.queueCounts["quarantined"] ?? 0,
                      "oldest_undelivered_seconds": stats?.oldestUndeliveredSeconds as Any,
                      "bytes_pending": stats?.bytesPending ?? 0],
            "devices": ["printer": (try? self.store.syncValue("device_printer")) ?? nil ?? "unknown",
                        "scanner": (try? self.store.syncValue("device_scanner")) ?? nil ?? "unknown",
                        "card_reader": (try? self.store.syncValue("device_card_reader")) ?? nil ?? "unknown"],
            "paper_estimate": ((try? self.store.syncValue("paper_sheets")) ?? nil).flatMap(Int.init) as Any,
            "disk_free_bytes": free,
        ]
    }

    func heartbeat() async throws(SyncError) {
        let body = (try? JSONSerialization.data(withJSONObject: self.heartbeatBody(), options: [.sortedKeys])) ?? Data()
        _ = try await self.client.send("POST", "/v1/kiosks/\(self.kioskID)/heartbeat", body: body,
                                       headers: ["Content-Type": "application/json"])
    }
}
