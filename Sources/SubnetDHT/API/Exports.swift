// The core's public API is this module's too: users `import SubnetDHT` alone.
@_exported import SubnetDHTCore
