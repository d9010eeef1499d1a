/// `get_record_changes` (docs/PROTOCOL.md 3.2): a replica's answer to a feed reader.
extension QueryResponder {
    /// The changes under `target` since the reader's cursor, or the whole set when the cursor
    /// cannot be answered with changes, with the cursor to ask from next and the replica's
    /// count and digest of what it holds.
    mutating func answerGetRecordChanges(target: NodeID, since: [UInt8], after: [UInt8]?, transactionID: [UInt8],
                                         from source: Endpoint, responseLimit: Int, now: Timestamp) -> Result<ResponseBody, KRPCError> {
        var cursor: PublicKey?
        if let after {
            guard let key = PublicKey(bytes: after) else { return .failure(.protocolError("after must be a 32-byte owner key")) }
            cursor = key
        }
        guard since.isEmpty || since.count == RecordFeedCursor.byteCount else {
            return .failure(.protocolError("since must be empty or a 16-byte cursor"))
        }
        // Owners whose records expired are told as removals now, not a prune interval later.
        recordsExpiredByAnswers += recordStore.expire(now: now).count
        let summary = recordStore.summary(target: target)
        var body = ResponseBody(id: localID)
        body.feedCursor = recordStore.feedCursor.bytes
        body.memberCount = Int64(summary.count)
        body.memberDigest = summary.digest
        let changes = RecordFeedCursor(bytes: since).flatMap { known in
            recordStore.changes(target: target, since: known, after: cursor, limit: settings.maxResponseSize / PublicKey.byteCount + 1)
        }
        body.isFullRead = changes == nil
        let budget = responseLimit - envelopeSize(body, transactionID: transactionID, to: source)
        var pending: Bool
        if let changes {
            let (page, gone) = RecordFeedPage.contents(of: changes, budget: budget)
            page.add(to: &body)
            body.gone = gone
            pending = !changes.isEmpty
        } else {
            let candidates = recordStore.page(target: target, after: cursor, limit: settings.maxResponseSize / 96 + 1, now: now)
            RecordPage.contents(of: candidates, budget: budget).add(to: &body)
            pending = !candidates.isEmpty
        }
        // A poll from a cursor comes unpadded, so under a requester's amplification limit not
        // even one change may fit. Its answer must not pass for "nothing changed": `more`
        // then repeats where the page started, and the reader asks again, padded.
        pending = pending && body.records == nil && body.compressedRecords == nil && body.gone == nil
        if pending { body.more = after ?? QueryMethod.beforeEveryOwner }
        return .success(body)
    }
}
