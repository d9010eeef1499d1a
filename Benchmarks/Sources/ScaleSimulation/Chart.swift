import Foundation

/// One line of a chart: a value per N.
struct Series {
    var label: String
    var color: String
    var dashed: Bool
    var points: [(n: Int, value: Double)]
}

/// A self-contained SVG of two panels side by side, N on a log axis: median rounds per lookup
/// (with log2(N)/3 + 2, the target, as a reference line) and median messages per lookup.
func scaleChartSVG(rounds: [Series], messages: [Series], title: String) -> String {
    let width = 980.0, height = 440.0
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

    """
    let allN = (rounds + messages).flatMap { $0.points.map(\.n) }
    guard let minN = allN.min(), let maxN = allN.max() else { return svg + "</svg>\n" }
    var reference = Series(label: "target: log2(N)/3 + 2", color: "#888888", dashed: true, points: [])
    var log2Line = Series(label: "log2(N)", color: "#bbbbbb", dashed: true, points: [])
    let low = Double(minN) / 2, high = Double(maxN) * 2
    for step in 0...20 {
        let n = exp(log(low) + (log(high) - log(low)) * Double(step) / 20)
        reference.points.append((Int(n), log2(n) / 3 + 2))
        log2Line.points.append((Int(n), log2(n)))
    }
    svg += panel(x: 60, y: 50, width: 400, height: 320, xRange: (low, high), series: rounds + [reference, log2Line],
                 yLabel: "median rounds per lookup")
    svg += panel(x: 560, y: 50, width: 400, height: 320, xRange: (low, high), series: messages,
                 yLabel: "median messages per lookup")
    return svg + "</svg>\n"
}

private func panel(x: Double, y: Double, width: Double, height: Double, xRange: (Double, Double),
                   series: [Series], yLabel: String) -> String {
    let maxValue = series.flatMap { $0.points.map(\.value) }.max() ?? 1
    let yMax = niceCeiling(maxValue * 1.1)
    func px(_ n: Double) -> Double { x + (log(n) - log(xRange.0)) / (log(xRange.1) - log(xRange.0)) * width }
    func py(_ value: Double) -> Double { y + height - value / yMax * height }
    var out = "<g>\n"
    out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" fill=\"none\" stroke=\"#333\"/>\n"
    // Horizontal grid and y labels.
    let yStep = niceCeiling(yMax / 5)
    var value = 0.0
    while value <= yMax + 1e-9 {
        let yy = py(value)
        out += "<line x1=\"\(x)\" y1=\"\(yy)\" x2=\"\(x + width)\" y2=\"\(yy)\" stroke=\"#eee\"/>\n"
        out += "<text x=\"\(x - 6)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(trim(value))</text>\n"
        value += yStep
    }
    // Decades on the log x axis, with log2(N) under each.
    var decade = pow(10, floor(log10(xRange.0)))
    while decade <= xRange.1 {
        for multiple in [1.0, 2.0, 5.0] {
            let n = decade * multiple
            guard n >= xRange.0, n <= xRange.1 else { continue }
            let xx = px(n)
            out += "<line x1=\"\(xx)\" y1=\"\(y)\" x2=\"\(xx)\" y2=\"\(y + height)\" stroke=\"\(multiple == 1 ? "#ddd" : "#f4f4f4")\"/>\n"
            if multiple == 1 {
                out += "<text x=\"\(xx)\" y=\"\(y + height + 16)\" text-anchor=\"middle\">\(grouped(Int(n)))</text>\n"
                out += "<text x=\"\(xx)\" y=\"\(y + height + 30)\" text-anchor=\"middle\" fill=\"#777\">log2 \(String(format: "%.1f", log2(n)))</text>\n"
            }
        }
        decade *= 10
    }
    out += "<text x=\"\(x + width / 2)\" y=\"\(y + height + 48)\" text-anchor=\"middle\">N (nodes, log scale)</text>\n"
    out += "<text transform=\"translate(\(x - 40),\(y + height / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
    // Lines, markers and the legend.
    for (position, line) in series.enumerated() {
        let points = line.points.sorted { $0.n < $1.n }
        let path = points.map { "\(px(Double($0.n))),\(py($0.value))" }.joined(separator: " ")
        let dash = line.dashed ? " stroke-dasharray=\"6,4\"" : ""
        out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"\(dash)/>\n"
        if points.count <= 8 {
            for point in points {
                // Shrinking markers keep coinciding points of several series visible.
                out += "<circle cx=\"\(px(Double(point.n)))\" cy=\"\(py(point.value))\" r=\"\(max(6.5 - 1.5 * Double(position), 2.5))\" fill=\"\(line.color)\"><title>\(escape(line.label)): N=\(point.n), \(trim(point.value))</title></circle>\n"
            }
        }
        let ly = y + 14 + Double(position) * 16
        out += "<line x1=\"\(x + 10)\" y1=\"\(ly - 4)\" x2=\"\(x + 34)\" y2=\"\(ly - 4)\" stroke=\"\(line.color)\" stroke-width=\"2\"\(dash)/>\n"
        out += "<text x=\"\(x + 40)\" y=\"\(ly)\">\(escape(line.label))</text>\n"
    }
    return out + "</g>\n"
}

private func niceCeiling(_ value: Double) -> Double {
    guard value > 0 else { return 1 }
    let magnitude = pow(10, floor(log10(value)))
    for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where factor * magnitude >= value { return factor * magnitude }
    return 10 * magnitude
}

private func trim(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
}

func grouped(_ value: Int) -> String {
    let digits = String(value)
    var out = ""
    for (offset, character) in digits.reversed().enumerated() {
        if offset > 0, offset % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return String(out.reversed())
}

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
