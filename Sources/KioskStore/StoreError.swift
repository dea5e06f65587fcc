#if canImport(Glibc)
import Glibc
#endif
import KioskCore

/// Why the store refused or failed. Messages reach residents and staff, in Bahasa Indonesia and English.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case invalidNIK(NIKError)
    case unknownRequirement(String, service: String)
    case noAttachments
    case attachmentMissing(path: String)
    case attachmentUnreadable(path: String, errno: Int32)
    case attachmentTooLarge(path: String, size: Int, limit: Int)
    /// Not a regular file: a symbolic link, folder, pipe, device, socket or kernel pseudo-file (/proc, /sys).
    case attachmentNotRegular(path: String, kind: FileKind)
    case attachmentEmpty(path: String)
    case tooManyAttachments(count: Int, limit: Int)
    /// A resident-supplied text field holds a control, bidi-override or zero-width character.
    case unsafeText(field: String)
    /// An application with this id exists or is being written by another process.
    case alreadySubmitted(String)
    /// The database is new (deleted, truncated or replaced) but the spool still holds files: nothing is touched.
    case databaseMissingForSpool(directory: String, entries: Int)
    /// Other processes kept the database locked past the bounded retries.
    case busy
    case applicationTooLarge(size: Int, limit: Int)
    case diskLow(free: Int, threshold: Int)
    case diskFull
    case notFound(String)
    case invalidTrackingCode(TrackingCodeError)
    case lifecycle(LifecycleError)
    case notQuarantined(String)
    case schemaTooNew(found: Int, supported: Int)
    case sqlite(SQLiteError)
    case io(String, Int32)
    /// The electronic form breaks a rule (`FormRules`): too many fields, a bad key, an overlong value.
    case invalidForm(field: String, reason: String)
    /// `notify` was asked for without a contact number.
    case notifyWithoutContact
    /// A resubmission for an application that is not returned for correction.
    case notReturnedForCorrection(String, state: ApplicationState)
    /// A resubmission whose attachments do not fit what it replaces.
    case invalidResubmission(String)
    /// The application's protected data was purged after retention; it cannot be resubmitted from this kiosk.
    case purged(String)

    /// True when the input was at fault (kioskctl exits 65), false for environment failures.
    public var isBadInput: Bool {
        switch self {
        case .invalidNIK, .unknownRequirement, .noAttachments, .attachmentMissing, .attachmentTooLarge,
             .applicationTooLarge, .invalidTrackingCode, .lifecycle, .notQuarantined, .attachmentUnreadable,
             .attachmentNotRegular, .attachmentEmpty, .tooManyAttachments, .unsafeText, .alreadySubmitted,
             .invalidForm, .notifyWithoutContact, .notReturnedForCorrection, .invalidResubmission, .purged:
            return true
        default:
            return false
        }
    }

    public var code: String {
        switch self {
        case .invalidNIK: return "invalid_nik"
        case .unknownRequirement: return "unknown_requirement"
        case .noAttachments: return "no_attachments"
        case .attachmentMissing: return "attachment_missing"
        case .attachmentUnreadable: return "attachment_unreadable"
        case .attachmentTooLarge: return "attachment_too_large"
        case .attachmentNotRegular: return "attachment_not_regular"
        case .attachmentEmpty: return "attachment_empty"
        case .tooManyAttachments: return "too_many_attachments"
        case .unsafeText: return "unsafe_text"
        case .alreadySubmitted: return "already_submitted"
        case .databaseMissingForSpool: return "database_missing"
        case .busy: return "busy"
        case .applicationTooLarge: return "application_too_large"
        case .diskLow: return "disk_low"
        case .diskFull: return "disk_full"
        case .notFound: return "not_found"
        case .invalidTrackingCode: return "invalid_tracking_code"
        case .lifecycle: return "illegal_transition"
        case .notQuarantined: return "not_quarantined"
        case .schemaTooNew: return "schema_too_new"
        case .sqlite: return "database"
        case .io: return "io"
        case .invalidForm: return "invalid_form"
        case .notifyWithoutContact: return "notify_without_contact"
        case .notReturnedForCorrection: return "not_returned_for_correction"
        case .invalidResubmission: return "invalid_resubmission"
        case .purged: return "purged"
        }
    }

    /// Sizes in MiB with an Indonesian decimal comma, e.g. "10,0 MiB".
    static func mib(_ bytes: Int) -> String {
        let tenths = (Double(bytes) / 1_048_576 * 10).rounded()
        guard tenths < 1e12 else { return "> 1 TiB" }
        let t = Int(tenths)
        return "\(t / 10),\(t % 10) MiB"
    }

    public var message: LocalizedText {
        switch self {
        case .invalidNIK(let e): return e.message
        case .unknownRequirement(let r, let s):
            return LocalizedText("Persyaratan \"\(r)\" tidak dikenal untuk layanan \(s).",
                                 "Requirement \"\(r)\" is not known for service \(s).")
        case .noAttachments:
            return LocalizedText("Belum ada dokumen yang dipindai.", "No documents have been scanned.")
        case .attachmentMissing(let p):
            return LocalizedText("Berkas \(p) tidak ditemukan.", "File \(p) does not exist.")
        case .attachmentUnreadable(let p, let e):
            return LocalizedText("Berkas \(p) tidak dapat dibaca (\(String(cString: strerror(e)))).",
                                 "File \(p) cannot be read (\(String(cString: strerror(e)))).")
        case .attachmentTooLarge(let p, let size, let limit):
            return LocalizedText(
                "Berkas \(p) terlalu besar (lebih dari \(StoreError.mib(limit)); terbaca \(StoreError.mib(size))). Pindai ulang dengan resolusi lebih rendah.",
                "File \(p) is too large (over \(StoreError.mib(limit)); read \(StoreError.mib(size))). Rescan at a lower resolution.")
        case .attachmentNotRegular(let p, let kind):
            return LocalizedText("Berkas \(p) ditolak: \(kind.label.id); hanya berkas biasa yang diterima.",
                                 "File \(p) refused: \(kind.label.en ?? kind.label.id); only regular files are accepted.")
        case .attachmentEmpty(let p):
            return LocalizedText("Berkas \(p) kosong (0 bita); pindai atau pilih ulang dokumennya.",
                                 "File \(p) is empty (0 bytes); scan or choose the document again.")
        case .tooManyAttachments(let count, let limit):
            return LocalizedText("Terlalu banyak dokumen (\(count)); paling banyak \(limit) per permohonan.",
                                 "Too many documents (\(count)); at most \(limit) per application.")
        case .unsafeText(let field):
            return LocalizedText("Isian \(field) memuat karakter kendali atau tak terlihat; ketik ulang.",
                                 "Field \(field) contains control or invisible characters; please type it again.")
        case .alreadySubmitted(let id):
            return LocalizedText("Permohonan \(id) sudah tersimpan atau sedang disimpan.",
                                 "Application \(id) is already saved or being saved.")
        case .databaseMissingForSpool(let dir, let entries):
            return LocalizedText(
                "Basis data \(dir)/kiosk.sqlite3 baru atau kosong, tetapi folder dokumen masih berisi \(entries) entri; penyimpanan tidak dibuka dan tidak ada yang dihapus. Pulihkan kiosk.sqlite3 dari cadangan, atau pindahkan \(dir)/attachments dan \(dir)/documents ke tempat lain, lalu jalankan kioskctl store check.",
                "The database \(dir)/kiosk.sqlite3 is new or empty but the spool still holds \(entries) entries; the store was not opened and nothing was deleted. Restore kiosk.sqlite3 from a backup, or move \(dir)/attachments and \(dir)/documents aside, then run kioskctl store check.")
        case .busy:
            return LocalizedText("Kios sedang sibuk; coba lagi sebentar. Permohonan yang sudah tersimpan aman.",
                                 "The kiosk is busy; please try again in a moment. Saved applications are safe.")
        case .applicationTooLarge(let size, let limit):
            return LocalizedText(
                "Total dokumen permohonan \(StoreError.mib(size)) melebihi batas \(StoreError.mib(limit)).",
                "The application's documents total \(StoreError.mib(size)), over the \(StoreError.mib(limit)) limit.")
        case .diskLow(let free, let threshold):
            return LocalizedText(
                "Penyimpanan kios hampir penuh (sisa \(StoreError.mib(free)), minimum \(StoreError.mib(threshold))). Permohonan baru belum dapat diterima; hubungi petugas desa. Permohonan yang sudah tersimpan aman.",
                "The kiosk's storage is nearly full (\(StoreError.mib(free)) free, \(StoreError.mib(threshold)) required). New applications cannot be taken now; please ask the desa staff. Saved applications are safe.")
        case .diskFull:
            return LocalizedText("Penyimpanan kios penuh; permohonan tidak disimpan. Hubungi petugas desa.",
                                 "The kiosk's storage is full; the application was not saved. Please ask the desa staff.")
        case .notFound(let what):
            return LocalizedText("Permohonan \(what) tidak ditemukan.", "Application \(what) was not found.")
        case .invalidTrackingCode(let e): return e.message
        case .lifecycle(let e): return e.message
        case .notQuarantined(let id):
            return LocalizedText("Permohonan \(id) tidak sedang tertahan.", "Application \(id) is not quarantined.")
        case .schemaTooNew(let found, let supported):
            return LocalizedText(
                "Basis data versi \(found) lebih baru dari yang didukung (\(supported)); perbarui kioskd.",
                "The database is schema version \(found), newer than supported (\(supported)); update kioskd.")
        case .sqlite(let e):
            return LocalizedText("Kesalahan basis data: \(e)", "Database error: \(e)")
        case .io(let what, let e):
            return LocalizedText("Kesalahan berkas (\(what)): \(String(cString: strerror(e)))",
                                 "File error (\(what)): \(String(cString: strerror(e)))")
        case .invalidForm(let field, let reason):
            return LocalizedText("Isian formulir \(field) tidak sah (\(reason)).", "Form field \(field) is invalid (\(reason)).")
        case .notifyWithoutContact:
            return LocalizedText("Pemberitahuan memerlukan nomor kontak.", "Notifications need a contact number.")
        case .notReturnedForCorrection(let id, let state):
            return LocalizedText(
                "Permohonan \(id) tidak sedang dikembalikan untuk perbaikan (status: \(state.label.id)); tidak dapat diajukan ulang.",
                "Application \(id) is not returned for correction (state: \(state.label.en ?? state.rawValue)); it cannot be resubmitted.")
        case .invalidResubmission(let why):
            return LocalizedText("Pengajuan ulang tidak sah: \(why).", "Invalid resubmission: \(why).")
        case .purged(let id):
            return LocalizedText(
                "Data pribadi permohonan \(id) sudah dihapus setelah masa simpan; ajukan permohonan baru atau hubungi Dinas.",
                "The personal data of application \(id) was purged after retention; file a new application or contact the Dinas.")
        }
    }

    public var description: String { self.message.bilingual }
}

/// What a path turned out to be, for refusing anything but a regular file with its own message.
public enum FileKind: String, Sendable, Hashable {
    case symlink, directory, fifo, device, socket, pseudoFile = "pseudo_file", other

    public var label: LocalizedText {
        switch self {
        case .symlink: return LocalizedText("tautan simbolik (symlink)", "it is a symbolic link")
        case .directory: return LocalizedText("berupa folder", "it is a folder (directory)")
        case .fifo: return LocalizedText("berupa pipa (FIFO)", "it is a pipe (FIFO)")
        case .device: return LocalizedText("berupa perangkat", "it is a device")
        case .socket: return LocalizedText("berupa soket", "it is a socket")
        case .pseudoFile: return LocalizedText("berkas semu kernel (/proc, /sys)", "it is a kernel pseudo-file (/proc, /sys)")
        case .other: return LocalizedText("bukan berkas biasa", "it is not a regular file")
        }
    }
}
