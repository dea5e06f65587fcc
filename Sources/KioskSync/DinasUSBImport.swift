import Foundation
import KioskCore
import KioskSecurity

/// The Dinas side of the USB transfer (PROTOCOL.md, "USB transfer"): opens a kiosk's sealed stick with the
/// recipient private key, verifies every file, uploads each application through kiosk-dinas/1 (idempotent create
/// by id, resumable upload from the Dinas's offset) and writes the return stick (`dinas-import.json`, receipts,
/// states, signed documents, the config bundle) that `sync import` on the kiosk reads.
///
/// Everything on the stick is untrusted: sizes are bounded before reading, paths are built here (never taken from
/// the stick), and every file must open (AEAD) and match the sealed index's SHA-256.
public struct DinasUSBImport: Sendable {
    public static let maxIndexBytes = 16 << 20
    public static let maxManifestBytes = 4 << 20
    public static let maxAttachmentBytes = 1 << 30
    public static let maxApplications = 10_000
    public static let uploadChunk = 1 << 20

    public let key: X25519PrivateKey
    public let baseURL: URL
    public let token: String
    public var retries = 5
    public var requestTimeout: TimeInterval = 30
    public var log: @Sendable (String) -> Void = { _ in }

    public init(key: X25519PrivateKey, baseURL: URL, token: String) {
        self.key = key
        self.baseURL = baseURL
        self.token = token
    }

    public struct Summary: Codable, Sendable {
        public var kioskID = ""
        public var applications = 0
        public var attachmentsUploaded = 0
        public var attachmentsAlreadyThere = 0
        public var bytesUploaded = 0
        public var receipts = 0
        public var documents = 0
        public var configVersion: Int?
        public var failed: [String] = []

        enum CodingKeys: String, CodingKey {
            case applications, receipts, documents, failed
            case kioskID = "kiosk_id"
            case attachmentsUploaded = "attachments_uploaded"
            case attachmentsAlreadyThere = "attachments_already_there"
            case bytesUploaded = "bytes_uploaded"
            case configVersion = "config_version"
        }
    }

    public enum ImportError: Error, CustomStringConvertible {
        case stick(String)
        case link(SyncError)

        public var description: String {
            switch self {
            case .stick(let m): return m
            case .link(let e): return e.description
            }
        }
    }

    struct Opened {
        var id: UUID
        var manifest: Data
        var attachments: [(seq: Int, sha256: String, size: Int, data: Data)]
    }

    /// Reads a regular file (no symlink) of at most `max` bytes, or of exactly `exact` bytes.
    static func read(_ path: String, max: Int, exact: Int? = nil) throws(ImportError) -> [UInt8] {
        guard let size = USBTransfer.fileSize(path) else { throw .stick("\(path): missing or not a regular file") }
        if let exact, size != exact { throw .stick("\(path): \(size) bytes, the sealed index says \(exact) (truncated or replaced)") }
        guard size <= max else { throw .stick("\(path): larger than \(max) bytes") }
        guard let h = FileHandle(forReadingAtPath: path) else { throw .stick("\(path): missing") }
        defer { try? h.close() }
        let data = (try? h.read(upToCount: max + 1)) ?? Data()
        guard data.count <= max else { throw .stick("\(path): larger than \(max) bytes") }
        return Array(data)
    }

    /// Opens and verifies the whole stick before anything is uploaded.
    func open(_ dir: String) throws(ImportError) -> (kioskID: String, apps: [Opened]) {
        let outerBytes = try Self.read("\(dir)/\(USBTransfer.outerIndexFile)", max: Self.maxIndexBytes)
        let outer: USBTransfer.OuterIndex
        do { outer = try StrictJSON.decode(USBTransfer.OuterIndex.self, from: Data(outerBytes), root: "kiosk-export") } catch {
            throw .stick("kiosk-export.json: \(error)")
        }
        guard outer.format == "kiosk-usb/2" else { throw .stick("kiosk-export.json: format must be kiosk-usb/2") }
        guard ConfigLimits.isKioskID(outer.kioskID) else { throw .stick("kiosk-export.json: invalid kiosk_id") }
        guard outer.recipientKeyID == self.key.publicKey.keyID else {
            throw .stick("the stick is sealed to key \(SafeText.strip(String(outer.recipientKeyID.prefix(16)))), not \(self.key.publicKey.keyID)")
        }
        let sealedIndex = try Self.read("\(dir)/\(USBTransfer.indexFile)", max: Self.maxIndexBytes)
        guard sealedIndex.count == outer.index.size, SHA256.hex(sealedIndex) == outer.index.sha256 else {
            throw .stick("\(USBTransfer.indexFile): size or SHA-256 differs from kiosk-export.json")
        }
        let index: USBTransfer.ExportIndex
        do {
            let plain = try USBSeal.open(sealedIndex, with: self.key, maxPlaintext: Self.maxIndexBytes, what: USBTransfer.indexFile)
            index = try StrictJSON.decode(USBTransfer.ExportIndex.self, from: Data(plain), root: "kiosk-export-index")
        } catch {
            throw .stick("\(error)")
        }
        guard index.format == "kiosk-usb/2-index", index.kioskID == outer.kioskID else {
            throw .stick("the sealed index does not belong to kiosk-export.json")
        }
        guard index.applications.count <= Self.maxApplications else { throw .stick("more than \(Self.maxApplications) applications") }
        var apps: [Opened] = []
        for entry in index.applications {
            guard let id = UUID(uuidString: entry.id), id.uuidString.lowercased() == entry.id else {
                throw .stick("application id \(SafeText.strip(String(entry.id.prefix(40)))) is not a lowercase UUID")
            }
            let folder = "applications/\(entry.id)"
            func openFile(_ rel: String, max: Int, exactPlain: Int? = nil, sha256: String) throws(ImportError) -> Data {
                let sealed = try Self.read("\(dir)/\(rel)", max: USBSeal.sealedSize(plaintextLength: max),
                                           exact: exactPlain.map { USBSeal.sealedSize(plaintextLength: $0) })
                do {
                    let plain = try USBSeal.open(sealed, with: self.key, maxPlaintext: max, what: rel)
                    guard SHA256.hex(plain) == sha256 else { throw ImportError.stick("\(rel): SHA-256 differs from the sealed index") }
                    return Data(plain)
                } catch let e as ImportError { throw e } catch { throw .stick("\(error)") }
            }
            let manifest = try openFile("\(folder)/manifest.kx", max: Self.maxManifestBytes, sha256: entry.manifestSHA256)
            var atts: [(Int, String, Int, Data)] = []
            for f in entry.files.prefix(1000) {
                guard (0...100_000).contains(f.seq), (0...Self.maxAttachmentBytes).contains(f.size) else { throw .stick("\(folder): attachment out of bounds") }
                let data = try openFile("\(folder)/\(f.seq).kx", max: f.size, exactPlain: f.size, sha256: f.sha256)
                guard data.count == f.size else { throw .stick("\(folder)/\(f.seq).kx: size differs") }
                atts.append((f.seq, f.sha256, f.size, data))
            }
            apps.append(Opened(id: id, manifest: manifest, attachments: atts.map { (seq: $0.0, sha256: $0.1, size: $0.2, data: $0.3) }))
        }
        return (outer.kioskID, apps)
    }

    /// Uploads the stick and writes the return stick into `returnDir`.
    public func run(from dir: String, returnDir: String) async throws(ImportError) -> Summary {
        let (kioskID, apps) = try self.open(dir)
        var summary = Summary()
        summary.kioskID = kioskID
        let client = DinasClient(endpoint: DinasEndpoint(baseURL: self.baseURL, kioskID: kioskID, token: self.token),
                                 requestTimeout: self.requestTimeout)
        var receipts: [[String: JSONValue]] = []
        var states: [[String: JSONValue]] = []
        for app in apps {
            do {
                let confirmed = try await self.upload(app, client: client, summary: &summary)
                summary.applications += 1
                receipts.append(["application_id": .string(app.id.uuidString.lowercased()),
                                 "attachments": .array(confirmed.attachments.map {
                                     .object(["seq": .number(Double($0.seq)), "sha256": .string($0.sha256)])
                                 })])
                if confirmed.state != "delivered", ApplicationState(rawValue: confirmed.state) != nil {
                    states.append(["application_id": .string(app.id.uuidString.lowercased()), "state": .string(confirmed.state),
                                   "reason": confirmed.reason.map { .string(SafeText.strip(String($0.prefix(1000)))) } ?? .null])
                }
            } catch .auth(let s, let m) {
                throw .link(.auth(status: s, message: m))
            } catch {
                summary.failed.append("\(app.id.uuidString.lowercased()): \(SafeText.strip(error.description))")
                self.log("application \(app.id): \(error)")
            }
        }
        summary.receipts = receipts.count
        // The return stick: documents from the kiosk's event feed, the config bundle, then dinas-import.json last.
        var documents: [[String: JSONValue]] = []
        var configFiles: [JSONValue] = []
        do {
            try USBTransfer.makeDirectory(returnDir)
            try USBTransfer.makeDirectory("\(returnDir)/documents")
            try USBTransfer.makeDirectory("\(returnDir)/config")
            documents = try await self.documents(client: client, kioskID: kioskID, into: returnDir)
            summary.documents = documents.count
            let r = try await client.send("GET", "/v1/kiosks/\(kioskID)/config")
            if r.status == 200, !r.body.isEmpty {
                try USBTransfer.writeAtomically(r.body, to: "\(returnDir)/config/bundle.json")
                configFiles.append(.string("config/bundle.json"))
                summary.configVersion = Self.bundleVersion(r.body)
            }
        } catch let e as SyncError {
            if case .permanent(404, _, _) = e {} else { throw .link(e) }
        } catch {
            throw .stick("return stick: \(error)")
        }
        let index: JSONValue = .object([
            "format": .string("dinas-usb/1"), "kiosk_id": .string(kioskID),
            "receipts": .array(receipts.map(JSONValue.object)), "states": .array(states.map(JSONValue.object)),
            "documents": .array(documents.map(JSONValue.object)), "config_bundles": .array(configFiles),
        ])
        do {
            try USBTransfer.writeAtomically(try KioskJSON.encode(index, pretty: true), to: "\(returnDir)/dinas-import.json")
        } catch {
            throw .stick("return stick: \(error)")
        }
        return summary
    }

    /// The version a bundle's payload claims (unverified: for display; the kiosk verifies the bundle).
    public static func bundleVersion(_ bundle: Data) -> Int? {
        guard bundle.count <= DinasClient.defaultBodyLimit, let outer = try? KioskJSON.decode(JSONValue.self, from: bundle),
              let b64 = outer["payload"]?.stringValue, let bytes = Data(base64Encoded: b64),
              let payload = try? KioskJSON.decode(JSONValue.self, from: bytes), let v = payload["version"]?.intValue
        else { return nil }
        return v
    }

    private func upload(_ app: Opened, client: DinasClient, summary: inout Summary) async throws(SyncError) -> RemoteApplication {
        let id = app.id.uuidString.lowercased()
        let r = try await client.send("PUT", "/v1/applications/\(id)", body: app.manifest, headers: ["Content-Type": "application/json"])
        let remote = try client.decode(RemoteApplication.self, r)
        for a in app.attachments {
            guard let ra = remote.attachments.first(where: { $0.seq == a.seq }), ra.size == a.size, ra.sha256 == a.sha256 else {
                throw .badResponse("the Dinas does not list attachment \(a.seq) as sealed")
            }
            if ra.complete {
                summary.attachmentsAlreadyThere += 1
                continue
            }
            guard (0...a.size).contains(ra.received) else { throw .badResponse("received \(ra.received) outside 0…\(a.size)") }
            var offset = ra.received
            var failures = 0
            while offset < a.size {
                let chunk = a.data.subdata(in: offset..<min(a.size, offset + Self.uploadChunk))
                do {
                    let p = try await client.send("PATCH", ra.uploadURL, body: chunk, headers: [
                        "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset),
                        "Upload-Checksum": "sha256 \(Data(SHA256.hash(chunk)).base64EncodedString())"])
                    let confirmed = try SyncEngine.offset(p.header("Upload-Offset"), size: a.size, what: "PATCH")
                    summary.bytesUploaded += max(0, confirmed - offset)
                    offset = confirmed
                } catch let e where e.isTransient {
                    failures += 1
                    guard failures <= self.retries else { throw e }
                    let h = try await client.send("HEAD", ra.uploadURL)
                    offset = try SyncEngine.offset(h.header("Upload-Offset"), size: a.size, what: "HEAD")
                }
            }
            summary.attachmentsUploaded += 1
        }
        let confirmation = try client.decode(RemoteApplication.self, try await client.send("GET", "/v1/applications/\(id)"))
        for a in app.attachments {
            guard let c = confirmation.attachments.first(where: { $0.seq == a.seq }), c.complete, c.sha256 == a.sha256, c.size == a.size else {
                throw .badResponse("the Dinas has not confirmed attachment \(a.seq)")
            }
        }
        return confirmation
    }

    /// Every signed document the kiosk's event feed announces, downloaded into `documents/` (bounded pages).
    private func documents(client: DinasClient, kioskID: String, into dir: String) async throws -> [[String: JSONValue]] {
        var cursor = 0
        var out: [[String: JSONValue]] = []
        for _ in 0..<200 {
            let page = try client.decode(EventPage.self, try await client.send("GET", "/v1/kiosks/\(kioskID)/events?cursor=\(cursor)"))
            for e in page.events.prefix(1000) where e.type == "document" {
                guard let docID = e.documentID, let product = e.product, let sha = e.sha256, let sig = e.signature, let keyID = e.keyID,
                      UUID(uuidString: e.applicationID) != nil, !docID.isEmpty, docID.count <= 40,
                      docID.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "-") }),
                      product.count <= 100, SafeText.firstUnsafe(in: product) == nil,
                      sha.count == 64, sig.count <= 200, keyID.count <= 64, SafeText.firstUnsafe(in: sig + keyID) == nil
                else { continue }
                let body = try await client.send("GET", e.url ?? "/v1/documents/\(docID)", maxBody: 32 << 20).body
                guard SHA256.hex(body) == sha else { continue }  // the kiosk verifies the signature as well
                let rel = "documents/\(docID.lowercased()).pdf"
                try USBTransfer.writeAtomically(body, to: "\(dir)/\(rel)")
                out.append(["application_id": .string(e.applicationID.lowercased()), "product": .string(product),
                            "document_id": .string(docID), "file": .string(rel), "sha256": .string(sha),
                            "signature": .string(sig), "key_id": .string(keyID)])
            }
            guard page.cursor > cursor, !page.events.isEmpty else { break }
            cursor = page.cursor
        }
        return out
    }
}
