"""A client for the local control API of a SubnetDHT node (`subnet-dht run --http-port P`).

Standard library only. The node runs beside the application as a sidecar; this module talks
to its HTTP port on loopback::

    from subnet_dht import Client

    node = Client(9100, token_file="/var/lib/subnet/control-token")
    node.update(role="miner", tput=12.5, info={"stake": 5})
    for event in node.events():
        print(event.name, event.data)
"""

from .client import (
    Client,
    Event,
    SubnetDHTError,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Refused,
    Unavailable,
    NodeUnreachable,
)

__all__ = [
    "Client",
    "Event",
    "SubnetDHTError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Refused",
    "Unavailable",
    "NodeUnreachable",
]
__version__ = "0.1.0"
