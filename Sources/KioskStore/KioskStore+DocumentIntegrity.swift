import Foundation
import KioskCore
import KioskSecurity

/// The answer of the check a stored document passes immediately before every print.
public enum DocumentCheck: Hashable, Sendable {
    /// The file on disk is the one the Dinas signed for this application and product: print this path.
    case verified(path: String)
    /// Never print: the reason is already in the audit log and the document's print state is `print_failed`.
    case refused(reason: String)
}

extension KioskStore {
    /// The one check before a stored document is printed (kioskctl's `print application` and the resident UI's
    /// `printDocument` both call it): the file is read again, its SHA-256 must equal the stored one, and the stored
    /// Dinas signature must verify with a trusted key over (application id, product, hash). A file changed on disk
    /// after it arrived is refused; the refusal is recorded for staff (audit event `print_refused`, print state
    /// `print_failed`) in one transaction.
    public func verifyForPrint(documentID: String, trusted: [Ed25519PublicKey], actor: String)
        throws(StoreError) -> DocumentCheck
    {
        let doc = try self.document(documentID)
        let (signature, keyID) = try self.run { db in
            let row = try db.query("SELECT signature, key_id FROM documents WHERE document_id = ?", [.text(documentID)]).first
            return (row?.text(0) ?? "", row?.text(1) ?? "")
        }
        let path = self.path(of: doc)
        let reason: String
        if let data = FileManager.default.contents(atPath: path) {
            do {
                try DocumentSignature.verify(document: data, sha256: doc.sha256, applicationID: doc.applicationID,
                                             product: doc.product, signature: signature, keyID: keyID, trusted: trusted)
                return .verified(path: path)
            } catch {
                reason = "\(error)"
            }
        } else {
            reason = "document file is missing or unreadable"
        }
        let detail = SafeText.strip("\(doc.product): not printed, verification failed: \(reason)")
        try self.run { db in
            try db.transaction {
                try db.query("UPDATE documents SET print_state = 'print_failed' WHERE document_id = ?", [.text(documentID)])
                try self.auditRow(db, doc.applicationID.uuidString.lowercased(), event: "print_refused", actor: actor,
                                  detail: detail)
            }
        }
        return .refused(reason: reason)
    }
}
