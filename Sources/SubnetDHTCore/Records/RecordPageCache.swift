/// `get_records` pages already built, served again while the records under them are unchanged.
///
/// Every reader of a key walks the same pages: from the first, each `after` the last owner of
/// the one before. Building one (fetching up to 15 records, LZ4-compressing their list two or
/// three times to find how many fit) was most of the cost of answering. A page is kept with
/// the stamp of the records it was built from and used again only while `RecordStore` says
/// the stamp is current, so a cached page is the very page that would be built.
///
/// Direct-mapped: a page's slot is its key's hash modulo the capacity, and a newer page takes
/// the slot of an older one, so the cache stays bounded with no bookkeeping. Slots are made
/// only when used: a node that serves no pages holds none.
struct RecordPageCache {
    /// What a page depends on besides the records: the key, the cursor, and the room the rest
    /// of the response leaves it. That room is `responseLimit` less the envelope, whose size
    /// is fixed by the lengths in `Envelope` (everything else in it comes from the settings),
    /// so a page found here needs no envelope measured.
    struct Key: Hashable {
        var target: NodeID
        var after: PublicKey?
        var responseLimit: Int
        var envelope: Envelope
    }

    /// The lengths that set a `get_records` answer's size before its records.
    struct Envelope: Hashable {
        var transactionIDLength: Int
        var tokenLength: Int
        /// Nodes in `nodes` and `nodes6`; -1 when the list is absent.
        var nodes: Int
        var nodes6: Int
        /// The requester's family sets the length of `ip`.
        var requesterIsIPv4: Bool

        init(_ body: ResponseBody, transactionID: [UInt8], requester: Endpoint) {
            transactionIDLength = transactionID.count
            tokenLength = body.token?.count ?? -1
            nodes = body.nodes?.count ?? -1
            nodes6 = body.nodes6?.count ?? -1
            requesterIsIPv4 = requester.address.isIPv4
        }
    }

    private struct Slot {
        var key: Key
        var stamp: RecordPageStamp
        var contents: RecordPageContents
    }

    /// Pages kept at most; 0 keeps none.
    let capacity: Int
    private var slots: [Int: Slot] = [:]

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Pages held now.
    var count: Int { slots.count }

    /// The page kept for `key`, if `store` still holds exactly the records it was built from.
    func contents(for key: Key, in store: RecordStore, now: Timestamp) -> RecordPageContents? {
        guard capacity > 0, let slot = slots[slotNumber(key)], slot.key == key,
            store.isCurrent(slot.stamp, target: key.target, after: key.after, now: now)
        else { return nil }
        return slot.contents
    }

    mutating func keep(_ contents: RecordPageContents, stamp: RecordPageStamp, for key: Key) {
        guard capacity > 0 else { return }
        slots[slotNumber(key)] = Slot(key: key, stamp: stamp, contents: contents)
    }

    private func slotNumber(_ key: Key) -> Int {
        Int(UInt(bitPattern: key.hashValue) % UInt(capacity))
    }
}
