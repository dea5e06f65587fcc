import CTurboJPEG
import Foundation

/// JPEG through libjpeg-turbo's TurboJPEG API: the only file that touches CTurboJPEG. Handles are per call, so
/// these functions are safe from any thread.
public enum JPEG {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Encodes an 8-bit gray or RGB image at `quality` (1…100), 4:2:0 chroma for color.
    public static func encode(_ image: RasterImage, quality: Int) throws(Failure) -> Data {
        guard let handle = tjInitCompress() else { throw Failure(description: "tjInitCompress failed") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB
        let subsampling = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_420
        let rc = image.pixels.withUnsafeBufferPointer { px in
            tjCompress2(handle, px.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue),
                        &buffer, &size, Int32(subsampling.rawValue), Int32(min(100, max(1, quality))), TJFLAG_FASTDCT)
        }
        defer { if let buffer { tjFree(buffer) } }
        guard rc == 0, let buffer else { throw Failure(description: String(cString: tjGetErrorStr2(handle))) }
        return Data(bytes: buffer, count: Int(size))
    }

    /// Decodes a JPEG to gray (1 channel) or RGB (3).
    public static func decode(_ data: Data, gray: Bool = false) throws(Failure) -> RasterImage {
        guard let handle = tjInitDecompress() else { throw Failure(description: "tjInitDecompress failed") }
        defer { tjDestroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, sub: Int32 = 0, space: Int32 = 0
        let header = data.withUnsafeBytes { raw in
            tjDecompressHeader3(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(data.count), &w, &h, &sub, &space)
        }
        guard header == 0, w > 0, h > 0, Int(w) * Int(h) <= 80_000_000 else {
            throw Failure(description: "not a readable JPEG")
        }
        let channels = gray ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h) * channels)
        let rc = data.withUnsafeBytes { raw in
            pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(data.count), out.baseAddress, w, 0, h,
                              Int32((gray ? TJPF_GRAY : TJPF_RGB).rawValue), TJFLAG_FASTDCT)
            }
        }
        guard rc == 0 else { throw Failure(description: String(cString: tjGetErrorStr2(handle))) }
        return RasterImage(width: Int(w), height: Int(h), channels: channels, pixels: pixels)
    }
}
