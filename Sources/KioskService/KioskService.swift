// KioskService: the kiosk's use cases once (resident, staff, admin), and kioskd's parts around them: the service
// group and lifecycle, the control socket, configuration, device supervision, sync and retention loops.
import KioskCore

public enum KioskdVersion {
    public static let string = "0.2.0"
}
