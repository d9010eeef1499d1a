/// One k-bucket: the nodes sharing a given common-prefix length with the local id.
struct KBucket: Sendable {
    /// Up to k contacts, least recently seen first, so the head is the first to ping or evict.
    var contacts: [Contact] = []
    /// Spares waiting for a slot, oldest first; bounded, the newest kept.
    var replacements: [Contact] = []
    /// When a contact here last answered, was added or replaced, or a refresh was issued;
    /// nil means never, so a fresh table refreshes at once whatever the clock's epoch.
    var lastChanged: Timestamp?

    func contactIndex(of id: NodeID) -> Int? { contacts.firstIndex { $0.id == id } }
    func replacementIndex(of id: NodeID) -> Int? { replacements.firstIndex { $0.id == id } }

    /// Moves the contact at `index` to the most-recently-seen end.
    mutating func touch(at index: Int) {
        let contact = contacts.remove(at: index)
        contacts.append(contact)
    }

    /// Adds or refreshes a spare at the newest end. When full, drops the oldest unverified
    /// spare first, so a flood of queries cannot push out nodes that have answered us.
    /// Returns the spare dropped to make room, if any.
    mutating func cache(_ contact: Contact, limit: Int) -> Contact? {
        if let index = replacementIndex(of: contact.id) { replacements.remove(at: index) }
        guard limit > 0 else { return contact }
        var dropped: Contact?
        if replacements.count >= limit {
            let victim = replacements.firstIndex { !$0.isVerified } ?? 0
            dropped = replacements.remove(at: victim)
        }
        replacements.append(contact)
        return dropped
    }

    /// Takes the spare to promote: the newest verified one, else the newest.
    mutating func takeReplacement() -> Contact? {
        guard !replacements.isEmpty else { return nil }
        let index = replacements.lastIndex { $0.isVerified } ?? replacements.count - 1
        return replacements.remove(at: index)
    }
}
