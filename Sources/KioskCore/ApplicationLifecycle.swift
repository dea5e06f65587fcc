/// Where an application is in its life (architecture.md, "Data").
public enum ApplicationState: String, Hashable, Sendable, Codable, CaseIterable {
    case draft
    case submitted
    case uploading
    /// The Dinas confirmed every attachment by hash.
    case delivered
    case inReview = "in_review"
    /// Documents are available to print.
    case ready
    case printed
    case collected
    case returnedForCorrection = "returned_for_correction"
    case rejected
    /// A permanent error: visible to staff, never blocking other items.
    case quarantined

    public var label: LocalizedText {
        switch self {
        case .draft: return LocalizedText("draf", "draft")
        case .submitted: return LocalizedText("tersimpan, menunggu dikirim", "saved, waiting to be sent")
        case .uploading: return LocalizedText("sedang dikirim ke Dinas", "being sent to the Dinas")
        case .delivered: return LocalizedText("diterima Dinas", "received by the Dinas")
        case .inReview: return LocalizedText("sedang diperiksa Dinas", "under review at the Dinas")
        case .ready: return LocalizedText("dokumen siap dicetak", "documents ready to print")
        case .printed: return LocalizedText("dokumen sudah dicetak", "documents printed")
        case .collected: return LocalizedText("selesai diambil", "collected")
        case .returnedForCorrection: return LocalizedText("dikembalikan untuk perbaikan", "returned for correction")
        case .rejected: return LocalizedText("ditolak", "rejected")
        case .quarantined: return LocalizedText("tertahan, hubungi petugas desa", "held, please ask the desa staff")
        }
    }

    /// Not yet confirmed by the Dinas: still the kiosk's responsibility to deliver.
    public var isUndelivered: Bool { [.submitted, .uploading, .quarantined].contains(self) }
}

/// An illegal state change, e.g. printing an application the Dinas has not finished.
public struct LifecycleError: Error, Hashable, Sendable, CustomStringConvertible {
    public var from: ApplicationState
    public var to: ApplicationState

    public init(from: ApplicationState, to: ApplicationState) {
        self.from = from
        self.to = to
    }

    public var message: LocalizedText {
        LocalizedText(
            "Perubahan status dari \"\(self.from.rawValue)\" ke \"\(self.to.rawValue)\" tidak diperbolehkan.",
            "A change from \"\(self.from.rawValue)\" to \"\(self.to.rawValue)\" is not allowed.")
    }

    public var description: String { self.message.bilingual }
}

/// The application lifecycle state machine. Pure: the store asks it before every change.
public enum ApplicationLifecycle {
    public static let transitions: [ApplicationState: Set<ApplicationState>] = [
        .draft: [.submitted],
        .submitted: [.uploading, .quarantined],
        .uploading: [.submitted, .delivered, .quarantined],
        .quarantined: [.submitted],
        .delivered: [.inReview, .ready, .returnedForCorrection, .rejected],
        .inReview: [.ready, .returnedForCorrection, .rejected],
        .returnedForCorrection: [.submitted, .inReview, .rejected],
        .ready: [.printed, .collected],
        .printed: [.collected],
        .collected: [],
        .rejected: [],
    ]

    public static func canTransition(from: ApplicationState, to: ApplicationState) -> Bool {
        transitions[from]?.contains(to) ?? false
    }

    public static func check(from: ApplicationState, to: ApplicationState) throws(LifecycleError) {
        guard canTransition(from: from, to: to) else { throw LifecycleError(from: from, to: to) }
    }
}
