import Foundation
import SubnetDHT

/// Progress and notes go to standard error; the results to standard output.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Peak resident set size (VmHWM) of this process.
func peakResidentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let number = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return number * 1024
    }
    return 0
}

func mebibytes(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}

func format(_ value: Double, _ decimals: Int = 1) -> String { String(format: "%.\(decimals)f", value) }

/// Nearest-rank percentile (p in 0...1) of integer samples; nil for no samples.
func percentile(_ values: [Int], _ p: Double) -> Int? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = max(Int((p * Double(sorted.count)).rounded(.up)), 1)
    return sorted[min(rank, sorted.count) - 1]
}

func mean(_ values: [Int]) -> Double {
    values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count)
}

/// A uniformly random index below `count`, from the seeded generator.
func randomIndex(_ count: Int, using generator: inout SplitMix64) -> Int {
    Int(generator.next() % UInt64(count))
}

/// A deterministic ed25519 key from the seeded generator (SigningKey.generate() is not seeded).
func signingKey(using generator: inout SplitMix64) -> SigningKey {
    var seed = [UInt8]()
    for _ in 0..<4 { withUnsafeBytes(of: generator.next()) { seed.append(contentsOf: $0) } }
    // A 32-byte seed is always accepted.
    return try! SigningKey(seed: seed)
}

extension Array {
    /// Fisher-Yates with the seeded generator.
    func seededShuffle(using generator: inout SplitMix64) -> [Element] {
        var copy = self
        guard copy.count > 1 else { return copy }
        for index in stride(from: copy.count - 1, to: 0, by: -1) {
            copy.swapAt(index, randomIndex(index + 1, using: &generator))
        }
        return copy
    }
}
