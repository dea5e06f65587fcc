import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
import KioskTestSupport

/// A kiosk: a store with submitted applications and an engine pointed at `server`.
struct TestKiosk {
    let dir: String
    let store: KioskStore
    let engine: SyncEngine

    init(server: DinasServer, kioskID: String = "desa-oebobo-01", token: String? = nil, options: SyncOptions? = nil,
         trusted: [Ed25519PublicKey]? = nil) throws {
        self.dir = try makeTempDir()
        self.store = try KioskStore.open(directory: self.dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
        var opts = options ?? SyncOptions()
        if options == nil {
            opts.backoff = Backoff(base: 0.05, cap: 0.5)
            opts.quickRetryDelay = 0.02
            opts.probeInterval = 0.2
        }
        self.engine = SyncEngine(
            store: self.store,
            client: DinasClient(endpoint: DinasEndpoint(baseURL: server.url, kioskID: kioskID, token: token ?? server.token),
                                requestTimeout: 10),
            trustedKeys: trusted ?? [server.key.publicKey], configStore: try ConfigBundleStore(dataDirectory: self.dir),
            options: opts)
    }

    @discardableResult
    func submit(sizes: [Int]) throws -> UUID {
        try self.store.submit(NewApplication(
            service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
            contact: "081234567890",
            attachments: sizes.enumerated().map { NewAttachment(requirement: "r\($0.offset)", data: randomBytes($0.element), fileExtension: "jpg") }
        )).id
    }
}
