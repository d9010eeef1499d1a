/// Every limit and interval of the core in one place, each with its default and the reason
/// for it (the shape of SWIM.Settings). Services and the command line only override fields.
public struct DHTSettings: Sendable {
    /// Kademlia k: bucket size and the number of closest nodes a lookup converges on (BEP 5 uses 8).
    public var k = 8
    /// Lookup parallelism: 3 in-flight queries, as in the Kademlia paper and libtorrent.
    public var alpha = 3
    /// The longest one request waits for an answer; 2 s covers intercontinental paths with loss.
    /// The wait actually used is learnt from measured round trips (`RoundTripEstimator`).
    public var requestTimeout: Duration = .seconds(2)
    /// The shortest wait for an answer, however fast the network measured: a peer busy
    /// verifying signatures for a moment must not be taken for dead.
    public var minimumRequestTimeout: Duration = .milliseconds(250)
    /// Sends per request before a node counts as failed. Three: at 20% loss each way a query
    /// then fails 5% of the time instead of 13% with two, and with learnt timeouts a dead node
    /// still costs only 7 round-trip timeouts (1.75 s on a LAN).
    public var maxAttempts = 3
    /// Candidates a lookup remembers; far ones beyond this are never queried, so memory stays bounded.
    public var lookupCandidateLimit = 64
    /// How many of the closest nodes a put or announce stores to (BEP 44 and BEP 5 both use k).
    public var storeReplicas = 8
    /// Period of routing-table upkeep (refresh, questionable pings, storage expiry).
    public var maintenanceInterval: Duration = .seconds(5)
    /// Questionable contacts pinged per upkeep round, so upkeep never floods the network.
    public var pingsPerMaintenance = 4
    /// docs/PROTOCOL.md 6: 0 is Mainline; other values keep subnets apart.
    public var networkID: Int64 = 0
    /// BEP 43: a client that only asks (the CLI's one-shot commands) stays out of others' tables.
    public var readOnly = false
    /// BEP 42: refuse routing-table entries whose id does not match their public IP.
    /// Off by default, as in libtorrent, because most Mainline nodes still ignore BEP 42.
    public var enforceSecureNodeIDs = false
    /// Routing settings (bucket size, one node per IP, timeouts); `k` above is copied into it.
    public var routing = RoutingSettings()
    /// Storage limits for BEP 5 peers and BEP 44 items.
    public var storage = StorageSettings()
    /// Per-source limit on incoming queries.
    public var rateLimit = RateLimitSettings()
    /// Client version sent in `v`: "SD" and a 2-byte version, as BEP 5 suggests.
    public var clientVersion: [UInt8] = [UInt8(ascii: "S"), UInt8(ascii: "D"), 0, 1]
    /// Responses are built to fit in 1,400 bytes (docs/PROTOCOL.md 1).
    public var maxResponseSize = 1400
    /// Period of the pruner: expired records out, failing and departed peers out of the
    /// routing table, the live view refreshed. 10 s (docs/PROTOCOL.md 5).
    public var pruneInterval: Duration = .seconds(10)
    /// Re-bootstrap backoff when the routing table empties: from 1 s, doubling to 60 s.
    public var rejoinDelays: ClosedRange<Duration> = .seconds(1)...(.seconds(60))
    /// Record policies by key; `node` is built in. `openKeys` accepts keys with no policy.
    public var keyPolicies = KeyPolicies()
    /// Limits of the keyed-record store.
    public var recordStore = RecordStoreSettings()
    /// `get_records` pages kept built (`RecordPageCache`): every reader of a key asks for the
    /// same pages, and a page is rebuilt only when one of its records changes. A key of
    /// 10,000 owners is about 1,100 pages of about 1.3 KB; the cache holds at most 2,048
    /// (under 3 MB), allocated as pages are served. 0 builds every page afresh.
    public var recordPageCacheSize = 2_048
    /// Replicas a reader pages through completely after its lookup: all k that announcers
    /// store to. With fewer (4 was tried), a churning network hid live peers: an owner whose
    /// lookups had not yet found newly joined nodes stored on the k closest it knew, which
    /// were not the 4 closest the reader found. A key of 10,000 owners costs twice the pages.
    public var recordReadReplicas = 8
    /// How long a contact that ignored a keyed-record query (or refused it as unknown) is
    /// asked only BEP 5 queries before it is tried once more. Half an hour: on the Mainline
    /// DHT most nodes are plain, and each costs one unanswered query per period; a SubnetDHT
    /// node wrongly judged plain (its answers lost) is put right by its next answer, which
    /// carries `kr`.
    public var plainContactMemory: Duration = .seconds(1800)
    /// Contacts whose capabilities are remembered (`ContactCapabilities`); past this one that
    /// does not serve records is forgotten, and learnt again if met again. About 100 bytes each.
    public var capabilityMemoryLimit = 8_192
    /// Pages read from one replica at most, bounding a read of a key with many owners
    /// (10,000 owners at about 10 records a page).
    public var maxRecordPagesPerReplica = 1_500
    /// Replicas of each storage target a live view follows with record feeds (docs/PROTOCOL.md
    /// 3.2), chosen at random among the closest, so readers spread over all of them. An owner
    /// stays in the view while any of them holds it: three, because an owner whose lookups have
    /// not yet met newly joined nodes stores on a set of replicas that differs from the
    /// reader's by a few.
    public var feedReplicas = 3
    /// How often a live view looks up each storage target's replicas again, beside the
    /// lookups its own heartbeats make: nodes joining near a target take over its storage.
    public var feedReplicaRefresh: Duration = .seconds(60)

    /// Every field at its default: Mainline's k, alpha and timeouts, the one-node-per-IP rule
    /// on, and the `node` key's policy alone. Change fields on the value, then hand it to
    /// `DHTNode.Configuration`.
    public init() {}

    /// Settings for a test network on loopback: the one-node-per-IP rule would admit only one
    /// peer, since every node there shares 127.0.0.1. `DHTNode` picks these for loopback hosts.
    public static var loopbackTestNetwork: DHTSettings {
        var settings = DHTSettings()
        settings.routing.restrictIPs = false
        return settings
    }
}
