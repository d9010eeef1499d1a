import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension StatusPageTests {
    @Suite struct LivePeerHistoryTests {
        let t0 = Timestamp(seconds: 1_800_000_000)  // a multiple of 30 s

        @Test func oneSamplePerIntervalWithItsLowestHighestAndLatestCount() {
            var history = LivePeerHistory(interval: .seconds(30), window: .seconds(3600))
            history.record(6, at: t0)
            history.record(5, at: t0 + .seconds(10))
            history.record(6, at: t0 + .seconds(29))
            history.record(4, at: t0 + .seconds(30))
            #expect(history.samples == [
                .init(start: t0, low: 5, high: 6, last: 6),
                .init(start: t0 + .seconds(30), low: 4, high: 4, last: 4),
            ])
        }

        @Test func samplesOlderThanTheWindowAreDroppedAndTheRingStaysBounded() {
            var history = LivePeerHistory(interval: .seconds(30), window: .seconds(3600))
            #expect(history.capacity == 120)
            // Three hours of one reading a second, on a virtual clock.
            for second in 0..<(3 * 3600) {
                history.record(second % 7, at: t0 + .seconds(Int64(second)))
                #expect(history.samples.count <= 120)
            }
            let now = t0 + .seconds(3 * 3600 - 1)
            #expect(history.samples.count == 120)
            #expect(history.samples.allSatisfy { $0.start + .seconds(30) > now - .seconds(3600) })
            #expect(history.samples.last?.start == t0 + .seconds(3 * 3600 - 30))
            #expect(zip(history.samples, history.samples.dropFirst()).allSatisfy { $0.start < $1.start })
        }

        @Test func aLongSilenceLeavesOnlyTheNewReading() {
            var history = LivePeerHistory()
            history.record(3, at: t0)
            history.record(3, at: t0 + .seconds(60))
            history.record(8, at: t0 + .seconds(2 * 3600))
            #expect(history.samples == [.init(start: t0 + .seconds(2 * 3600), low: 8, high: 8, last: 8)])
        }

        @Test func aClockSteppingBackFoldsIntoTheNewestSample() {
            var history = LivePeerHistory()
            history.record(3, at: t0 + .seconds(90))
            history.record(1, at: t0)  // the clock stepped back 90 s
            #expect(history.samples == [.init(start: t0 + .seconds(90), low: 1, high: 3, last: 1)])
        }

        @Test func theChartDrawsTheSamplesAcrossTheLastHour() {
            var history = LivePeerHistory()
            #expect(LivePeerChart().svg(history, now: t0).contains("no reading yet"))
            #expect(!LivePeerChart().svg(history, now: t0).contains("<polyline"))
            history.record(6, at: t0)
            history.record(5, at: t0 + .seconds(30))
            let svg = LivePeerChart().svg(history, now: t0 + .seconds(45))
            #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
            #expect(svg.contains("5 now, at most 6"))
            // Two points: the ends of the two intervals, the second one cut at now (the right edge).
            let points = svg.split(separator: "<polyline class=\"line\" points=\"")[1].prefix { $0 != "\"" }
            #expect(points.split(separator: " ").count == 2)
            #expect(points.hasSuffix("592,\(LivePeerChart.number(10 + 108.0 / 6))"))
        }
    }
}
