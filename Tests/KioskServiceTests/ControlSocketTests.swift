// The control socket over real Unix sockets in a temp dir: framing, caps, file mode and group, roles of real users
// (created with groupadd/useradd and run through setpriv), events, and shutdown.
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskCore
@testable import KioskService
import Synchronization
import Testing

@Suite(.serialized, .timeLimit(.minutes(3))) struct ControlSocketTests {
    // MARK: hello and framing

    @Test func helloGivesRootTheAdminRole() throws {
        try withServer { server, path in
            let client = try ControlClient.connect(path: path)
            defer { client.close() }
            #expect(client.role == .admin)
            #expect(client.serverVersion == "test-1")

            let raw = try RawClient(path: path)
            raw.send(#"{"id":1,"method":"hello","params":{"protocol":"kioskd/1"}}"# + "\n")
            let hello = try #require(raw.readReply())
            #expect(hello.id == 1)
            #expect(hello.result == .object(["protocol": .string("kioskd/1"), "role": .string("admin"),
                                             "version": .string("test-1"), "uid": .number(0)]))
            raw.send(#"{"id":2,"method":"hello","params":{"protocol":"kioskd/2"}}"# + "\n")
            #expect(raw.readReply()?.error?.code == "protocol_mismatch")
            raw.send(#"{"id":3,"method":"hello"}"# + "\n")
            #expect(raw.readReply()?.result?["role"] == .string("admin"))
            #expect(server.connectionCount == 2)
        }
    }

    @Test func concurrentRequestsAreAnsweredByID() async throws {
        try await withServerAsync { _, path in
            let client = try ControlClient.connect(path: path)
            defer { client.close() }
            let results = try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
                for i in 0..<8 {
                    group.addTask {
                        // Later requests finish first, so replies come back out of order.
                        let params: JSONValue = .object(["ms": .number(Double((8 - i) * 15)), "value": .number(Double(i))])
                        return (i, try await client.call("resident.slow", params))
                    }
                }
                var all: [Int: JSONValue] = [:]
                for try await (i, result) in group { all[i] = result }
                return all
            }
            #expect(results.count == 8)
            for (i, result) in results { #expect(result["value"] == .number(Double(i))) }

            // kioskctl's path: a plain thread blocking on the reply, no async context anywhere.
            let echoed = Mutex<JSONValue?>(nil)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                echoed.withLock { $0 = try? client.callBlocking("resident.echo", .object(["a": .string("ü\n")])) }
                done.signal()
            }
            thread.start()
            #expect(done.wait(timeout: .now() + 10) == .success)
            #expect(echoed.withLock { $0 } == .object(["a": .string("ü\n")]))
            #expect(try client.callBlocking("resident.echo") == .null)
        }
    }

    @Test func requestsBeyondTheInFlightCapAreBusy() async throws {
        var limits = ControlLimits()
        limits.maxInFlightPerConnection = 2
        try await withServerAsync(limits: limits) { _, path in
            let raw = try RawClient(path: path)
            for id in 1...3 { raw.send(#"{"id":\#(id),"method":"resident.slow","params":{"ms":400}}"# + "\n") }
            let first = try #require(raw.readReply())
            #expect(first.id == 3)
            #expect(first.error?.code == "busy")
            let rest = [raw.readReply(), raw.readReply()].compactMap { $0 }
            #expect(Set(rest.compactMap(\.id)) == [1, 2])
            #expect(rest.allSatisfy { $0.error == nil })
        }
    }

    @Test func malformedLinesGetAnErrorAndTheConnectionGoesOn() throws {
        var limits = ControlLimits()
        limits.maxPrivilegedValuesPerLine = 200  // root is admin
        try withServer(limits: limits) { _, path in
            let raw = try RawClient(path: path)
            let bad: [(line: String, id: Int?)] = [
                ("not json", nil),
                ("[1,2]", nil),
                (#"{"id":"x","method":"resident.echo"}"#, nil),
                (#"{"id":1.5,"method":"resident.echo"}"#, nil),
                (#"{"id":3}"#, 3),
                (#"{"id":4,"method":7}"#, 4),
                (#"{"id":5,"id":6,"method":"resident.echo"}"#, nil),
                (String(repeating: "[", count: 100_000), nil),
                ("{\"id\":7,\"method\":\"resident.echo\",\"params\":\"\u{1B}[2J\"", nil),
            ]
            for (line, id) in bad {
                raw.send(line + "\n")
                let text = try #require(raw.readLine())
                let reply = try KioskJSON.decode(ControlReply.self, from: Data(text.utf8))
                #expect(reply.error?.code == "malformed", "\(line.prefix(40))")
                #expect(reply.id == id)
                if id == nil { #expect(text.contains(#""id":null"#)) }
            }
            raw.send(bytes: [0xFF, 0xFE, 0x00, 0x7B, 0x0A])
            #expect(raw.readReply()?.error?.code == "malformed")
            raw.send("\n  \r\n")
            raw.send(#"{"id":8,"method":"nonsense"}"# + "\n")
            #expect(raw.readReply()?.error?.code == "unknown_method")
            raw.send(#"{"id":9,"method":"resident.nosuch"}"# + "\n")
            #expect(raw.readReply()?.error?.code == "unknown_method")
            raw.send(#"{"id":10,"method":"resident.echo","params":{"b":[1,true,null]}}"# + "\r\n")
            let ok = try #require(raw.readReply())
            #expect(ok.id == 10)
            // Too deep or too many values to be worth decoding: refused before the decoder sees them, quickly.
            let started = Date()
            raw.send(#"{"id":11,"method":"resident.echo","params":"# + String(repeating: "[", count: 500)
                     + String(repeating: "]", count: 500) + "}\n")
            #expect(raw.readReply()?.error?.code == "malformed")
            raw.send(#"{"id":12,"method":"resident.echo","params":["# + Array(repeating: "{}", count: 300).joined(separator: ",")
                     + "]}\n")
            #expect(raw.readReply()?.error?.code == "malformed")
            #expect(Date().timeIntervalSince(started) < 1)
            raw.send(#"{"id":13,"method":"resident.echo","params":[[[[["],\"\\\"[[{{"]]]]]}"# + "\n")
            #expect(raw.readReply()?.result == .array([.array([.array([.array([.array([.string("],\"\\\"[[{{")])])])])]))
            #expect(ok.result == .object(["b": .array([.number(1), .bool(true), .null])]))
        }
    }

    @Test func anOverlongLineClosesThatConnectionOnly() throws {
        var limits = ControlLimits()
        limits.maxLineBytes = 1024
        limits.maxPrivilegedLineBytes = 4096  // root is admin
        try withServer(limits: limits) { server, path in
            let other = try ControlClient.connect(path: path)
            defer { other.close() }
            let raw = try RawClient(path: path)
            raw.send(#"{"id":1,"method":"resident.echo","params":""# + String(repeating: "a", count: 3000) + "\"}\n")
            #expect(raw.readReply()?.id == 1)
            // Sent in pieces without a newline: refused once the cap is passed, whatever comes later.
            for _ in 0..<3 { raw.send(String(repeating: "b", count: 2000)) }
            let reply = try #require(raw.readReply())
            #expect(reply.error?.code == "line_too_long")
            #expect(raw.readLine() == nil)
            #expect(try other.callBlocking("resident.echo", .string("still here")) == .string("still here"))
            #expect(waitUntil { server.connectionCount == 1 })
        }
    }

    @Test func theRateCapAnswersRateLimitedAndDropsFloods() throws {
        var limits = ControlLimits()
        limits.requestsPerSecond = 1
        limits.burst = 3
        try withServer(limits: limits) { _, path in
            let raw = try RawClient(path: path)
            raw.send((1...6).map { #"{"id":\#($0),"method":"resident.echo"}"# + "\n" }.joined())
            // rate_limited is answered at once, results when their task is done: order by id.
            let replies = (1...6).compactMap { _ in raw.readReply() }.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
            #expect(replies.map(\.id) == [1, 2, 3, 4, 5, 6])
            #expect(replies.prefix(3).allSatisfy { $0.error == nil })
            #expect(replies.suffix(3).allSatisfy { $0.error?.code == "rate_limited" })

            // Ten times the cap (a bucket of 30): the connection is closed.
            let flood = try RawClient(path: path)
            flood.send((1...60).map { #"{"id":\#($0),"method":"resident.echo"}"# + "\n" }.joined())
            var codes: [String] = []
            while let reply = flood.readReply() { codes.append(reply.error?.code ?? "ok") }
            // 27 refused, then the 31st request closes it (results still running when it closes are not sent).
            #expect(codes.filter { $0 == "rate_limited" }.count >= 28)
            #expect(codes.count <= 34)
            #expect(codes.last == "rate_limited")
            #expect(flood.readLine(timeout: 1) == nil)
        }
    }

    @Test func aClientThatStopsReadingIsDroppedWithoutBlockingBroadcasts() throws {
        var limits = ControlLimits()
        limits.maxPendingOutputBytes = 256 << 10
        limits.writeTimeoutSeconds = 1
        try withServer(limits: limits) { server, path in
            let stuck = try RawClient(path: path)
            stuck.send(#"{"id":1,"method":"subscribe","params":{"streams":["print"]}}"# + "\n")
            #expect(stuck.readReply()?.result == .object(["streams": .array([.string("print")])]))
            let started = Date()
            let page = JSONValue.string(String(repeating: "x", count: 4096))
            for _ in 0..<2000 { server.broadcast(stream: "print", event: "print.progress", data: page) }
            #expect(Date().timeIntervalSince(started) < 2)
            #expect(waitUntil { server.connectionCount == 0 })
        }
    }

    @Test func connectionsLeaveNoDescriptorsBehind() throws {
        try withServer { server, path in
            func openDescriptors() -> Int {
                (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
            }
            _ = try ControlClient.connect(path: path)  // warm up: threads, the global queues
            #expect(waitUntil { server.connectionCount == 0 })
            let before = openDescriptors()
            for i in 0..<50 {
                let raw = try RawClient(path: path)
                if i % 2 == 0 { raw.send(#"{"id":1,"method":"resident.echo"}"# + "\n") }
                // Closed now, not whenever ARC releases it: 50 open at once would pass the 32-connection cap.
                raw.close()
                // The server notices a close asynchronously; let it catch up before the cap (32) is near.
                if i % 10 == 9 { #expect(waitUntil { server.connectionCount == 0 }) }
            }
            for i in 0..<20 {
                try ControlClient.connect(path: path).close()
                if i % 10 == 9 { #expect(waitUntil { server.connectionCount == 0 }) }
            }
            #expect(waitUntil { server.connectionCount == 0 })
            // 70 connections: a leak would show as ~70 more; the slack absorbs other suites running alongside.
            #expect(waitUntil { openDescriptors() <= before + 10 })
        }
    }

    @Test func idleConnectionsAreClosed() throws {
        var limits = ControlLimits()
        limits.idleSeconds = 0.3
        try withServer(limits: limits) { server, path in
            let raw = try RawClient(path: path)
            raw.send(#"{"id":1,"method":"resident.echo"}"# + "\n")
            #expect(raw.readReply()?.id == 1)
            #expect(raw.readReply(timeout: 5)?.error?.code == "idle_timeout")
            #expect(raw.readLine(timeout: 1) == nil)
            #expect(waitUntil { server.connectionCount == 0 })
        }
    }

    // MARK: the socket file

    @Test func socketFileIsMode0660WithTheConfiguredGroup() throws {
        let group = "ktest-sock-\(Self.token())"
        try #require(run(["groupadd", "--system", group]) == 0)
        defer { _ = run(["groupdel", group]) }
        let gid = try #require(groupID(group))

        try withServer(group: group) { _, path in
            var st = stat()
            #expect(lstat(path, &st) == 0)
            #expect(st.st_mode & S_IFMT == S_IFSOCK)
            #expect(st.st_mode & 0o7777 == 0o660)
            #expect(st.st_gid == gid)
            #expect(st.st_uid == 0)
            #expect(ControlClient.isListening(path: path))
            // What a user outside the group is told when the kernel refuses the connect.
            #expect(ControlError.permissionDenied(path).message.bilingual.contains(group))

            // A second server on a live socket refuses to start and leaves the first alone.
            let second = ControlServer(path: path, group: group, roles: ControlRoles(), handler: TestHandler(), version: "x")
            #expect(throws: ControlError.self) { try second.start() }
            #expect(ControlClient.isListening(path: path))
        }
    }

    @Test func startRefusesUnknownGroupsAndForeignFilesAndReplacesStaleSockets() throws {
        let dir = try TempDir()
        let path = dir.path + "/k.sock"
        let unknown = ControlServer(path: path, group: "ktest-nosuch-\(Self.token())", roles: ControlRoles(),
                                    handler: TestHandler(), version: "x")
        do {
            try unknown.start()
            Issue.record("started with a missing group")
        } catch {
            #expect(error.code == "unknown_group")
            #expect(error.message.bilingual.contains("ktest-nosuch-"))
        }

        // A plain file where the socket goes is not removed.
        let created = FileManager.default.createFile(atPath: path, contents: Data("keep".utf8))
        #expect(created)
        let blocked = ControlServer(path: path, group: nil, roles: ControlRoles(), handler: TestHandler(), version: "x")
        do {
            try blocked.start()
            Issue.record("started over a regular file")
        } catch {
            #expect(error.code == "socket_path_taken")
        }
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
        unlink(path)

        // A socket nobody listens on is stale: replaced.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(rc == 0)
        close(stale)
        #expect(!ControlClient.isListening(path: path))
        let server = ControlServer(path: path, group: nil, roles: ControlRoles(), handler: TestHandler(), version: "x")
        try server.start()
        defer { server.stop() }
        #expect(ControlClient.isListening(path: path))

        let missingDir = ControlServer(path: dir.path + "/no/such/k.sock", group: nil, roles: ControlRoles(),
                                       handler: TestHandler(), version: "x")
        #expect(throws: ControlError.self) { try missingDir.start() }
    }

    // MARK: roles of real users

    @Test func rolesComeFromTheRealUsersGroups() throws {
        let token = Self.token()
        let uiGroup = "ktest-ui-\(token)"
        let staffGroup = "ktest-st-\(token)"
        let uiUser = "ktest-ui-\(token)"
        let staffUser = "ktest-st-\(token)"
        let outsider = "ktest-out-\(token)"
        defer {
            for user in [uiUser, staffUser, outsider] { _ = run(["userdel", user]) }
            for group in [uiGroup, staffGroup] { _ = run(["groupdel", group]) }
        }
        try #require(run(["groupadd", "--system", uiGroup]) == 0)
        try #require(run(["groupadd", "--system", staffGroup]) == 0)
        let base = ["useradd", "--system", "--no-create-home", "--no-user-group", "--shell", "/usr/sbin/nologin"]
        // The resident only through a supplementary group; staff through its primary group (and the socket's).
        try #require(run(base + ["-g", "nogroup", "-G", uiGroup, uiUser]) == 0)
        try #require(run(base + ["-g", staffGroup, "-G", uiGroup, staffUser]) == 0)
        try #require(run(base + ["-g", "nogroup", outsider]) == 0)

        let roles = ControlRoles(adminUser: "ktest-noadmin-\(token)", staffGroup: staffGroup, residentGroup: uiGroup)
        let uiGID = try #require(groupID(uiGroup))
        let staffGID = try #require(groupID(staffGroup))
        #expect(roles.role(uid: 0, gid: 0, groups: []) == .admin)
        #expect(roles.role(uid: 4242, gid: 65534, groups: [uiGID]) == .resident)
        #expect(roles.role(uid: 4242, gid: staffGID, groups: []) == .staff)
        #expect(roles.role(uid: 4242, gid: 65534, groups: [uiGID, staffGID]) == .staff)
        #expect(roles.role(uid: 4242, gid: 65534, groups: [1, 2]) == nil)

        // The fallbacks behind SO_PEERGROUPS: the group database, and /proc only while the pid has the same ids.
        let uiUID = try #require(getpwnam(uiUser)?.pointee.pw_uid)
        #expect(PeerCredentials.userGroups(uid: uiUID, gid: 65534)?.contains(uiGID) == true)
        #expect(PeerCredentials.procGroups(pid: getpid(), uid: geteuid(), gid: getegid()) != nil)
        #expect(PeerCredentials.procGroups(pid: getpid(), uid: uiUID, gid: getegid()) == nil)

        let handler = TestHandler()
        try withServer(group: uiGroup, roles: roles, handler: handler) { _, path in
            let ui = try runClient(as: uiUser, group: "nogroup", path: path)
            #expect(ui.count == 3)
            #expect(ui.first?.result?["role"] == .string("resident"))
            #expect(ui.dropFirst().map { $0.error?.code } == ["forbidden", "forbidden"])

            let staff = try runClient(as: staffUser, group: staffGroup, path: path)
            #expect(staff.count == 3)
            #expect(staff.first?.result?["role"] == .string("staff"))
            #expect(staff.dropFirst().first?.result == .string("staff ok"))
            #expect(staff.last?.error?.code == "forbidden")

            // Not in the socket's group: the kernel refuses the connect (EACCES) before kioskd sees anything.
            let out = try runRaw(as: outsider, group: "nogroup", path: path)
            #expect(out == ["EACCES"])
            #expect(handler.calls.withLock { $0 } == ["staff.x"])
        }

        // In the socket's group but given no role: one `not_permitted` line, then the server hangs up.
        let noResidents = ControlRoles(adminUser: "ktest-noadmin-\(token)", staffGroup: staffGroup,
                                       residentGroup: "ktest-none-\(token)")
        try withServer(group: uiGroup, roles: noResidents) { server, path in
            let refused = try runClient(as: uiUser, group: "nogroup", path: path)
            #expect(refused.count == 1)
            #expect(refused.first?.error?.code == "not_permitted")
            #expect(refused.first?.id == nil)
            #expect(try runClient(as: staffUser, group: staffGroup, path: path).first?.result?["role"] == .string("staff"))
            #expect(server.connectionCount == 0 || waitUntil { server.connectionCount == 0 })
        }
    }

    // MARK: events and shutdown

    @Test func onlySubscribedConnectionsGetBroadcasts() async throws {
        try await withServerAsync { server, path in
            let cards = try ControlClient.connect(path: path)
            let devices = try ControlClient.connect(path: path)
            defer { cards.close(); devices.close() }
            try await cards.subscribe(["card"])
            try await devices.subscribe(["device"])
            await #expect(throws: ControlError.self) { try await devices.subscribe(["nosuch"]) }

            server.broadcast(stream: "card", event: "card.inserted", data: .object(["n": .number(1)]))
            server.broadcast(stream: "device", event: "device.changed", data: .object(["n": .number(2)]))
            server.broadcast(stream: "config", event: "config.changed", data: .null)
            var cardEvents = cards.events().makeAsyncIterator()
            var deviceEvents = devices.events().makeAsyncIterator()
            // Events on one connection keep their order, so the first one shows which were delivered.
            let first = await cardEvents.next()
            #expect(first?.event == "card.inserted")
            #expect(first?.data == .object(["n": .number(1)]))
            #expect(await deviceEvents.next()?.event == "device.changed")

            // An event pushed to one connection, ahead of the reply to the call that pushed it.
            #expect(try await cards.call("resident.push", .string("hi")) == .string("pushed"))
            let pushed = await cardEvents.next()
            #expect(pushed?.event == "test.pushed")
            #expect(pushed?.data == .string("hi"))
        }
    }

    @Test func stopUnlinksTheSocketAndDisconnectsClients() async throws {
        let dir = try TempDir()
        let path = dir.path + "/kioskd.sock"
        let handler = TestHandler()
        let server = ControlServer(path: path, group: nil, roles: ControlRoles(), handler: handler, version: "test-1")
        try server.start()
        let client = try ControlClient.connect(path: path)
        let events = client.events()
        let pending = Task { () -> ControlError? in
            do throws(ControlError) {
                _ = try await client.call("resident.slow", .object(["ms": .number(5000)]))
                return nil
            } catch {
                return error
            }
        }
        #expect(waitUntil { handler.calls.withLock { $0.contains("resident.slow") } })

        server.stop()
        server.stop()  // idempotent
        var st = stat()
        let rc = lstat(path, &st)
        let code = errno
        #expect(rc != 0 && code == ENOENT)
        #expect(await pending.value?.code == "disconnected")
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        await #expect(throws: ControlError.self) { try await client.call("resident.echo") }
        #expect(server.connectionCount == 0)
        #expect(waitUntil { handler.closed.withLock { $0.count } == 1 })
        #expect(!ControlClient.isListening(path: path))
        do {
            _ = try ControlClient.connect(path: path)
            Issue.record("connected to a stopped server")
        } catch {
            #expect(error.code == "not_running")
        }
    }

    @Test func tooManyConnectionsAreRefused() throws {
        var limits = ControlLimits()
        limits.maxConnections = 2
        try withServer(limits: limits) { server, path in
            let a = try ControlClient.connect(path: path)
            let b = try ControlClient.connect(path: path)
            defer { a.close(); b.close() }
            do throws(ControlError) {
                _ = try ControlClient.connect(path: path)
                Issue.record("a third connection was accepted")
            } catch {
                #expect(error.code == "too_many_connections")
            }
            #expect(server.connectionCount == 2)
            #expect(try a.callBlocking("resident.echo", .number(1)) == .number(1))
        }
    }

    // MARK: helpers

    static func token() -> String {
        String(UInt32.random(in: 0..<UInt32.max), radix: 36)
    }

    private func withServer(limits: ControlLimits = .init(), group: String? = nil, roles: ControlRoles = ControlRoles(),
                            handler: TestHandler = TestHandler(),
                            _ body: (ControlServer, String) throws -> Void) throws {
        let dir = try TempDir()
        let path = dir.path + "/kioskd.sock"
        let server = ControlServer(path: path, group: group, roles: roles, limits: limits, handler: handler, version: "test-1")
        try server.start()
        defer { server.stop() }
        try body(server, path)
    }

    private func withServerAsync(limits: ControlLimits = .init(), _ body: (ControlServer, String) async throws -> Void) async throws {
        let dir = try TempDir()
        let path = dir.path + "/kioskd.sock"
        let server = ControlServer(path: path, group: nil, roles: ControlRoles(), limits: limits, handler: TestHandler(),
                                   version: "test-1")
        try server.start()
        defer { server.stop() }
        try await body(server, path)
    }
}

// MARK: - test doubles and helpers

/// Echoes, sleeps, pushes; records the methods it was asked for and the connections that closed.
final class TestHandler: ControlHandler {
    let calls = Mutex<[String]>([])
    let closed = Mutex<[Int]>([])

    func handle(_ request: ControlRequest, from connection: ControlConnection) async -> Result<JSONValue, ControlError> {
        self.calls.withLock { $0.append(request.method) }
        switch request.method {
        case "resident.echo":
            return .success(request.params ?? .null)
        case "resident.slow":
            let ms = request.params?["ms"]?.intValue ?? 0
            try? await Task.sleep(for: .milliseconds(ms))
            return .success(request.params ?? .null)
        case "resident.push":
            connection.push("test.pushed", request.params ?? .null)
            return .success(.string("pushed"))
        case "staff.x":
            return .success(.string("staff ok"))
        case "admin.y":
            return .success(.string("admin ok"))
        default:
            return .failure(.unknownMethod(request.method))
        }
    }

    func connectionClosed(_ connection: ControlConnection) async {
        self.closed.withLock { $0.append(connection.id) }
    }
}

/// A directory under /tmp, mode 0755 (other users must reach the socket in it), removed on release.
final class TempDir {
    let path: String

    init() throws {
        var template = Array("/tmp/kioskd-control-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        self.path = String(cString: made)
        chmod(self.path, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: self.path) }
}

/// A client speaking raw lines, for what ControlClient never sends.
final class RawClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        self.fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    private var closed = false

    deinit { self.close() }

    func close() {
        guard !self.closed else { return }
        self.closed = true
        Glibc.close(self.fd)
    }

    /// Writes all of `text`, ignoring failures (the server may have hung up on purpose).
    func send(_ text: String) {
        self.send(bytes: Array(text.utf8))
    }

    func send(bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// The next line without its newline; nil on EOF, reset or after `timeout` seconds.
    func readLine(timeout: Double = 10) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let nl = self.buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: self.buffer[..<nl], as: UTF8.self)
                self.buffer.removeSubrange(...nl)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var pfd = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left * 1000) + 1) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            self.buffer += chunk.prefix(n)
        }
    }

    func readReply(timeout: Double = 10) -> ControlReply? {
        guard let line = self.readLine(timeout: timeout) else { return nil }
        return try? KioskJSON.decode(ControlReply.self, from: Data(line.utf8))
    }
}

/// Polls `condition` for up to five seconds.
func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
