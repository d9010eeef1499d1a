/// One page of a `get_record_changes` answer (docs/PROTOCOL.md 3.2): the changed records, in
/// either wire form, and the removed owners (`gone`), ascending by owner, as many as fit in
/// the budget, with `more` when some remain.
enum RecordFeedPage {
    /// `4:gone` and the longest length prefix a datagram's worth of keys needs (`NNNN:`).
    private static let goneOverhead = 11

    /// The records and removals of the longest prefix of `changes` that fits in `budget`
    /// bytes; `more` is the last owner it covers when it is not all of them.
    static func contents(of changes: [RecordChange], budget: Int) -> (page: RecordPageContents, gone: [UInt8]?) {
        let available = budget - RecordPage.moreOverhead
        var count = changes.count
        // Removals cost their 32 bytes each: first cut the prefix to the removals that fit.
        var goneCount = 0
        for (index, change) in changes.enumerated() where change.current == nil {
            goneCount += 1
            if goneOverhead + goneCount * PublicKey.byteCount > available {
                count = index
                break
            }
        }
        while count > 0 {
            let prefix = changes[..<count]
            let removed = prefix.filter { $0.current == nil }.map(\.owner)
            let goneCost = removed.isEmpty ? 0 : goneOverhead + removed.count * PublicKey.byteCount
            let records = prefix.compactMap(\.current)
            var page = RecordPage.contents(of: records, budget: available - goneCost, reservingMore: false)
            guard page.count < records.count else {
                page.more = count < changes.count ? changes[count - 1].owner.bytes : nil
                return (page, removed.isEmpty ? nil : removed.flatMap(\.bytes))
            }
            // Cut before the first record that did not fit; removals before it still fit.
            var seen = 0
            count = prefix.firstIndex { change in
                guard change.current != nil else { return false }
                seen += 1
                return seen > page.count
            } ?? count
        }
        return (RecordPageContents(), nil)
    }
}
