import SubnetDHTCore
/// The live-peer history as a small inline SVG chart, drawn on the server (no script, no
/// library, works offline): one step per sample interval across the last hour, a band from
/// the lowest to the highest count seen in it and a line through the count at its end.
struct LivePeerChart {
    var width = 600.0
    var height = 140.0
    /// Room for the labels of the axes.
    private let left = 34.0, right = 8.0, top = 10.0, bottom = 22.0

    func svg(_ history: LivePeerHistory, now: Timestamp) -> String {
        let samples = history.samples
        let highest = max(1, samples.map(\.high).max() ?? 0)
        let from = now - history.window
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ time: Timestamp) -> Double {
            let fraction = Double((time - from).millisecondsValue) / Double(history.window.millisecondsValue)
            return left + min(1, max(0, fraction)) * plotWidth
        }
        func y(_ count: Int) -> Double { top + plotHeight * (1 - Double(count) / Double(highest)) }
        func end(of sample: LivePeerHistory.Sample) -> Timestamp { min(sample.start + history.interval, now) }

        let summary = samples.last.map { "Live peers over the last hour: \($0.last) now, at most \(highest)." }
            ?? "Live peers over the last hour: no reading yet."
        var parts = [
            "<svg class=\"chart\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" role=\"img\" aria-label=\"\(summary)\">",
            "<title>\(summary)</title>",
            line(left, y(highest), width - right, y(highest), "grid"), line(left, y(0), width - right, y(0), "axis"),
            text(left - 6, y(highest) + 4, "\(highest)", "end"), text(left - 6, y(0) + 4, "0", "end"),
            text(left, height - 6, "−60 min", "start"), text(left + plotWidth / 2, height - 6, "−30 min", "middle"),
            text(width - right, height - 6, "now", "end"),
        ]
        if !samples.isEmpty {
            let upper = samples.flatMap { [(x(max($0.start, from)), y($0.high)), (x(end(of: $0)), y($0.high))] }
            let lower = samples.reversed().flatMap { [(x(end(of: $0)), y($0.low)), (x(max($0.start, from)), y($0.low))] }
            parts.append("<polygon class=\"band\" points=\"\(Self.points(upper + lower))\"/>")
            let counts = samples.map { (x(end(of: $0)), y($0.last)) }
            parts.append("<polyline class=\"line\" points=\"\(Self.points(counts))\"/>")
            if let last = counts.last {
                parts.append("<circle class=\"dot\" cx=\"\(Self.number(last.0))\" cy=\"\(Self.number(last.1))\" r=\"3\"/>")
            }
        }
        parts.append("</svg>")
        return parts.joined()
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ kind: String) -> String {
        "<line class=\"\(kind)\" x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" y2=\"\(Self.number(y2))\"/>"
    }

    private func text(_ x: Double, _ y: Double, _ label: String, _ anchor: String) -> String {
        "<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" text-anchor=\"\(anchor)\">\(label)</text>"
    }

    private static func points(_ points: [(Double, Double)]) -> String {
        points.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
    }

    /// One decimal, no Foundation: coordinates need no more.
    static func number(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10)" + (tenths % 10 == 0 ? "" : ".\(abs(tenths) % 10)")
    }
}
