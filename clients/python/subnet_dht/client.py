"""The client and its errors; see the package docstring and clients/python/README.md."""

import http.client
import json
import time
import urllib.parse
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

# `update(name=None)` removes the name; leaving the argument out keeps it.
_KEEP = object()


class SubnetDHTError(Exception):
    """An answer of the node that is not a success, or no answer at all.

    `message` is the node's own words, `code` its code: the rule code a replica would answer
    (205 too big, 208 TTL over the policy's, 209 refused by the policy) or else the HTTP status;
    `status` the HTTP status (0 when the node could not be reached).
    """

    def __init__(self, message: str, code: int, status: int):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return "%s (code %d)" % (self.message, self.code)


class BadRequest(SubnetDHTError):
    """400: the request was malformed (not JSON, a wrong type, an unknown field, a bad key)."""


class Unauthorized(SubnetDHTError):
    """401: a write without the node's token, or with a wrong one."""


class Forbidden(SubnetDHTError):
    """403: the node takes no writes (it was started without --control-token)."""


class NotFound(SubnetDHTError):
    """404 (and 405): no such endpoint on this node."""


class Refused(SubnetDHTError):
    """422: well-formed, but the node's policy (or a record's size limit) refuses it;
    nothing was published."""


class Unavailable(SubnetDHTError):
    """413, 502, 503, 504: too big, no replica took it, the node is busy or stopping, or the
    network did not answer in time."""


class NodeUnreachable(SubnetDHTError):
    """No HTTP answer: the node is not running, or not on that port."""


_ERRORS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 405: NotFound, 409: Refused,
           422: Refused}


class Event(NamedTuple):
    """One Server-Sent Event of `GET /events`.

    `name` is `joined`, `changed`, `left`, `expired` (`data` the peer's row, a dict) or `reset`
    (`data` the whole live view, a list of rows: sent first, and again when the stream resumed
    from an id the node no longer holds). `id` increases by one an event.
    """

    name: str
    id: int
    data: Any


class Client:
    """The HTTP port of one local node.

    `token` (or `token_file`, the node's `--control-token` file, read once here) is needed for
    writes: `update` and `announce`. Reads need none.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", token: Optional[str] = None,
                 token_file: Optional[str] = None, timeout: float = 10.0):
        if token is None and token_file is not None:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout

    # -- writes -------------------------------------------------------------------------

    def update(self, role: Optional[str] = None, name: Any = _KEEP, tput: Optional[float] = None,
               state: Optional[str] = None, info: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Changes the node's heartbeat and publishes it at once; returns the new row.

        `tput` is requests per second (the rows carry thousandths); `state` is `online` or
        `offline`; `info` is merged into the subnet fields, a `None` value removing one;
        `name=None` removes the name. Raises `Refused` when the node's policy would refuse it.
        """
        body: Dict[str, Any] = {}
        if role is not None:
            body["role"] = role
        if name is not _KEEP:
            body["name"] = name
        if tput is not None:
            body["tput"] = tput
        if state is not None:
            body["state"] = state
        if info is not None:
            body["info"] = info
        return self._request("PUT", "/self", body)

    def announce(self, key: str, value: Any, ttl: int = 600) -> Dict[str, Any]:
        """Publishes `value` (JSON: a string, an integer, a list or a dict of those) under `key`,
        signed by the node, for `ttl` seconds. Returns `{"accepted": [...], "rejected": [...], ...}`;
        raises `Unavailable` when no replica took it, `Refused` when the node's policy would not."""
        return self._request("POST", "/records/" + self._quote(key), {"value": value, "ttl": ttl})

    # -- reads --------------------------------------------------------------------------

    def peers(self) -> List[Dict[str, Any]]:
        """The live peers of the node's view, one row each (no network round trip)."""
        return self._request("GET", "/peers.json")

    def records(self, key: str, include_offline: bool = False) -> List[Dict[str, Any]]:
        """`key` read from the network now, one row a record."""
        return self._request("GET", "/records/%s.json%s" % (self._quote(key), "?all=1" if include_offline else ""))

    def health(self) -> Dict[str, Any]:
        """`/health`: the node's state, its last heartbeat, routing table and live peers."""
        try:
            return self._request("GET", "/health")
        except Unavailable as unhealthy:
            # 503 still carries the report: an unhealthy node is an answer, not a failure.
            if unhealthy.status == 503 and unhealthy.body is not None:
                return unhealthy.body
            raise

    def events(self, last_event_id: Optional[int] = None, reconnect: bool = True,
               retry_delay: float = 1.0) -> Iterator[Event]:
        """The live view's changes as they happen, forever: a `reset` with the whole view first,
        then `joined`, `changed`, `left` and `expired`.

        When the stream breaks (the node restarts, a proxy times out) and `reconnect` is true,
        it reconnects after `retry_delay` seconds and resumes after the last id it yielded:
        what happened meanwhile comes next, or a `reset` when the node no longer holds it.
        """
        last = last_event_id
        while True:
            try:
                for event in self._stream(last):
                    last = event.id
                    yield event
            except (OSError, http.client.HTTPException, NodeUnreachable):
                if not reconnect:
                    raise
            else:
                if not reconnect:
                    return
            time.sleep(retry_delay)

    # -- plumbing -----------------------------------------------------------------------

    @staticmethod
    def _quote(key: str) -> str:
        # A key ending in `.json` keeps its dot encoded, so that it is not read as a page.
        quoted = urllib.parse.quote(key, safe="")
        return quoted[:-5] + "%2Ejson" if quoted.endswith(".json") else quoted

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if method != "GET" and self.token is not None:
            headers["Authorization"] = "Bearer " + self.token
        connection = self._connection(self.timeout)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise NodeUnreachable("no answer from the node at %s:%d: %s" % (self.host, self.port, error), 0, 0) from None
        finally:
            connection.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        if 200 <= status < 300:
            return parsed
        raise self._error(status, text, parsed)

    @staticmethod
    def _error(status: int, text: str, parsed: Any) -> SubnetDHTError:
        if isinstance(parsed, dict) and "error" in parsed:
            message, code = str(parsed["error"]), int(parsed.get("code", status))
        else:
            message, code = text.strip() or "HTTP %d" % status, status
        error = _ERRORS.get(status, Unavailable)(message, code, status)
        error.body = parsed
        return error

    def _stream(self, last_event_id: Optional[int]) -> Iterator[Event]:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        # The node sends a comment every 15 s: twice that without a byte is a dead stream.
        connection = self._connection(30.0)
        try:
            try:
                connection.request("GET", "/events", headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                raise NodeUnreachable("no answer from the node at %s:%d: %s" % (self.host, self.port, error), 0, 0) from None
            if response.status != 200:
                text = response.read().decode("utf-8", "replace")
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
                raise self._error(response.status, text, parsed)
            name, event_id, data = None, None, []
            while True:
                line = response.readline()
                if not line:
                    return  # the node ended the stream (it is stopping)
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if name is not None and event_id is not None:
                        yield Event(name, event_id, json.loads("\n".join(data)) if data else None)
                    name, event_id, data = None, None, []
                elif line.startswith(":"):
                    continue  # a keep-alive comment
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        name = value
                    elif field == "id":
                        event_id = int(value)
                    elif field == "data":
                        data.append(value)
        finally:
            connection.close()


# Errors carry the parsed body too (health's 503 report).
SubnetDHTError.body = None
