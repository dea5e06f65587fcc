import Foundation
import KioskCore
import KioskDevices
import KioskSecurity
import KioskStore

/// The demo's stand-in for the Dinas: takes every queued application (delivered at once), reviews it, and after
/// `reviewSeconds` returns one PDF per product printable at the kiosk, marked as a demo copy. Works on the store
/// exactly as the real sync does (markUploading → markDelivered → in_review → document → ready), so the resident
/// UI sees the same states it will see in the field. Complaints are marked sent.
public final class DemoDinas: Sendable {
    public let store: KioskStore
    public let profile: JurisdictionProfile
    public let reviewSeconds: Double
    /// The demo's own signing key (generated per run): documents are signed as a real Dinas signs them, so the
    /// check before every print works the same; give `signingKey.publicKey` to `LocalKioskServices`.
    public let signingKey: Ed25519PrivateKey

    public init(store: KioskStore, profile: JurisdictionProfile, reviewSeconds: Double = 5,
                signingKey: Ed25519PrivateKey) {
        self.store = store
        self.profile = profile
        self.reviewSeconds = reviewSeconds
        self.signingKey = signingKey
    }

    /// Runs until cancelled.
    public func run(interval: Double = 0.5) async {
        while !Task.isCancelled {
            self.step(now: Date())
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
    }

    /// One pass: deliver what waits, finish reviews that are due.
    public func step(now: Date) {
        for item in (try? self.store.nextUploads(limit: 20)) ?? [] {
            try? self.store.markUploading(item.applicationID)
            try? self.store.markDelivered(item.applicationID, detail: "demo Dinas")
            _ = try? self.store.applyDinasState(item.applicationID, .inReview, reason: nil)
        }
        for item in (try? self.store.queueList(state: .inReview)) ?? [] {
            guard let app = try? self.store.application(item.applicationID.uuidString),
                  now.timeIntervalSince(app.updatedAt) >= self.reviewSeconds
            else { continue }
            self.issue(app)
        }
        for c in (try? self.store.unsentComplaints()) ?? [] { try? self.store.markComplaintSent(c.id) }
    }

    private func issue(_ app: StoredApplication) {
        let service = self.profile.service(app.service)
        let products = (service?.products ?? []).filter(\.printableAtKiosk).prefix(1)
        for product in products {
            var pdf = PDFDocument()
            pdf.text("SALINAN DOKUMEN ELEKTRONIK — DEMO", x: 56, y: 780, size: 16, bold: true)
            pdf.text(product.name.id, x: 56, y: 750, size: 14, bold: true)
            pdf.text("Kode pelacakan: \(app.trackingCode.formatted)", x: 56, y: 720)
            pdf.text("NIK pemohon: \(app.applicantNIKMasked)", x: 56, y: 700)
            pdf.text(self.profile.dinas.id, x: 56, y: 680)
            pdf.text("Ditandatangani secara elektronik (simulasi, bukan dokumen sah).", x: 56, y: 640)
            if let qr = QRCode(app.trackingCode.raw) { pdf.qr(qr, x: 56, y: 460, side: 140) }
            let data = pdf.data()
            guard let signature = try? DocumentSignature.sign(document: data, applicationID: app.id, product: product.id,
                                                              with: self.signingKey)
            else { continue }
            _ = try? self.store.storeDocument(
                app.id, documentID: UUID().uuidString.lowercased(), product: product.id, data: data,
                sha256: SHA256.hex(data), signature: signature, keyID: self.signingKey.publicKey.keyID)
        }
        _ = try? self.store.applyDinasState(app.id, .ready, reason: nil)
    }
}
