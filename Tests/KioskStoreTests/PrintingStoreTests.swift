import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import Testing

/// Paper accounting, print records and the reprint limit, on a real store file.
@Suite struct PrintingStoreTests {
    /// A delivered, ready application with one returned document.
    func readyApplicationWithDocument(_ store: KioskStore) throws -> (UUID, StoredDocument) {
        let receipt = try store.submit(newApplication([NewAttachment(requirement: "surat-kelahiran", data: bytes(500), fileExtension: "jpg")]))
        try store.markUploading(receipt.id)
        try store.markDelivered(receipt.id)
        #expect(try store.applyDinasState(receipt.id, .ready, reason: nil))
        let pdf = Data("%PDF-1.4 akta".utf8)
        let doc = try store.storeDocument(receipt.id, documentID: "0f1e2d3c-0000-4000-8000-000000000001", product: "akta-kelahiran",
                                          data: pdf, sha256: SHA256.hex(pdf), signature: "sig", keyID: "k1")
        return (receipt.id, doc)
    }

    /// A second delivery of a stored document never writes over the first (a printed PDF stays the one whose hash
    /// the row holds), and an id the store would have to rewrite to name a file is refused.
    @Test func aStoredDocumentIsNeverOverwrittenAndOddIdsAreRefused() throws {
        let (store, _) = try KioskStore.open(directory: try makeTempDir())
        let (id, doc) = try readyApplicationWithDocument(store)
        let other = Data("%PDF-1.4 something else".utf8)
        let again = try store.storeDocument(id, documentID: doc.documentID, product: "akta-kelahiran", data: other,
                                            sha256: SHA256.hex(other), signature: "sig", keyID: "k1")
        #expect(again.sha256 == doc.sha256)
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: doc))) == Data("%PDF-1.4 akta".utf8))
        for odd in ["0f1e2d3c-0000-4000-8000-000000000001x", "", "../../etc/x", String(repeating: "a", count: 41)] {
            #expect(throws: StoreError.self) {
                _ = try store.storeDocument(id, documentID: odd, product: "akta-kelahiran", data: other,
                                            sha256: SHA256.hex(other), signature: "sig", keyID: "k1")
            }
        }
        #expect(try store.documents(id).count == 1)
        #expect(try store.check().ok)
    }

    @Test func restockAndCompletedJobsCountPaperWithALowWarning() throws {
        let (store, _) = try KioskStore.open(directory: try makeTempDir())
        #expect(try store.paperStatus(lowThreshold: 20).remaining == 0)
        try store.restockPaper(sheets: 25, actor: "staff")
        let (id, doc) = try readyApplicationWithDocument(store)
        try store.recordPrint(documentID: doc.documentID, printed: true, sheets: 3, detail: "job 1 completed", actor: "kiosk")
        let paper = try store.paperStatus(lowThreshold: 20)
        #expect(paper.loaded == 25 && paper.used == 3 && paper.remaining == 22 && !paper.low)
        try store.recordPrint(documentID: doc.documentID, printed: true, sheets: 2, detail: "job 2 completed", actor: "kiosk")
        #expect(try store.paperStatus(lowThreshold: 20).low, "20 sheets left is at the threshold")
        #expect(try store.application(id.uuidString).state == .printed)
        let events = try store.history(id).map(\.event)
        #expect(events.filter { $0 == "print" }.count == 2)
        // A restock replaces the estimate and is itself audited.
        try store.restockPaper(sheets: 250, actor: "staff")
        #expect(try store.paperStatus(lowThreshold: 20).remaining == 250)
    }

    @Test func aFailedPrintKeepsTheDocumentAndDoesNotUseTheAllowance() throws {
        let (store, _) = try KioskStore.open(directory: try makeTempDir())
        try store.restockPaper(sheets: 100, actor: "staff")
        let (id, doc) = try readyApplicationWithDocument(store)
        try store.recordPrint(documentID: doc.documentID, printed: false, sheets: 0, detail: "job 1 canceled; faults: media-empty", actor: "kiosk")
        let after = try store.documents(id)[0]
        #expect(after.printState == "print_failed")
        #expect(after.printCount == 0)
        #expect(FileManager.default.fileExists(atPath: store.path(of: after)), "the document is kept for a reprint")
        #expect(try store.application(id.uuidString).state == .ready, "not printed")
        #expect(try store.paperStatus(lowThreshold: 20).used == 0)
        #expect(try store.history(id).contains { $0.event == "print_failed" && ($0.detail ?? "").contains("media-empty") })
        // The first print plus two reprints, then the limit.
        for _ in 0..<3 {
            #expect(try store.mayPrint(documentID: doc.documentID, reprintLimit: 2))
            try store.recordPrint(documentID: doc.documentID, printed: true, sheets: 1, detail: "completed", actor: "kiosk")
        }
        #expect(try store.mayPrint(documentID: doc.documentID, reprintLimit: 2) == false)
        #expect(throws: StoreError.self) { try store.mayPrint(documentID: "nope", reprintLimit: 2) }
        #expect(throws: StoreError.self) { try store.recordPrint(documentID: "nope", printed: true, sheets: 1, detail: "", actor: "kiosk") }
    }
}
