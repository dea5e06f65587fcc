import Foundation
import KioskSync
import Testing

@Suite struct RemovableTargetTests {
    static let mountinfo = """
    22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
    23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw
    41 22 8:17 / /media/usb rw,nosuid,nodev,relatime shared:30 - vfat /dev/sdb1 rw,fmask=0077
    42 22 8:3 / /srv/data rw,relatime shared:31 - ext4 /dev/sda3 rw
    43 22 8:2 /var/export /mnt/bind rw,relatime shared:1 - ext4 /dev/sda2 rw
    44 22 8:33 / /media/my\\040stick rw shared:32 - exfat /dev/sdc1 rw
    """
    static let sysfs = [
        "8:17": "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1",
        "8:3": "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda3",
        "8:33": "/sys/devices/platform/mmc0/block/sdc/sdc1",
    ]
    static let files = ["/sys/devices/platform/mmc0/block/sdc/removable": "1\n",
                        "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/removable": "0\n"]

    func decide(_ target: String) -> RemovableTarget.Decision {
        RemovableTarget.decide(target: target, mountinfo: Self.mountinfo, sysfsPath: { Self.sysfs[$0] }, readFile: { Self.files[$0] })
    }

    @Test func aStickIsAcceptedAndTheRootDiskRefused() {
        guard case .removable(let m) = decide("/media/usb/export") else { Issue.record("USB stick refused"); return }
        #expect(m.mountPoint == "/media/usb" && m.fsType == "vfat")
        guard case .removable(let sd) = decide("/media/my stick") else { Issue.record("removable card refused"); return }
        #expect(sd.source == "/dev/sdc1")
        // No stick in /media/usb2: the folder is on the root filesystem.
        guard case .refused(_, let en) = decide("/media/usb2") else { Issue.record("root disk accepted"); return }
        #expect(en.contains("root filesystem"))
        // A bind mount of the root disk and a fixed second disk are refused too.
        guard case .refused = decide("/mnt/bind/x"), case .refused(_, let fixed) = decide("/srv/data/usb") else {
            Issue.record("a fixed disk accepted"); return
        }
        #expect(fixed.contains("not removable"))
        // "/media/usbx" is not inside "/media/usb".
        guard case .refused = decide("/media/usbx") else { Issue.record("prefix confusion"); return }
        // An unreadable mount table refuses.
        guard case .refused = RemovableTarget.decide(target: "/media/usb", mountinfo: "garbage", sysfsPath: { _ in nil }, readFile: { _ in nil }) else {
            Issue.record("garbage accepted"); return
        }
    }

    @Test func theRealTemporaryDirectoryIsNotAStick() {
        guard case .refused = RemovableTarget.decide(target: FileManager.default.temporaryDirectory.path) else {
            Issue.record("the temporary directory passed as removable media"); return
        }
    }
}
