import SubnetDHTCore
/// The status page's HTML, rendered on the server from a `SubnetStatus`. `document` is the
/// whole page; `live` is the part its script fetches again (`/status.html`) every poll
/// interval and swaps in, so tables, counts and chart are drawn in one place, here, and the
/// script only swaps, sorts and copies. Everything is inline (style, script, SVG): the page
/// needs nothing from the internet. Links are relative, so the page also works behind a
/// reverse proxy that serves it under a path of its own.
struct StatusPageHTML {
    let settings: StatusPage.Settings

    func document(_ status: SubnetStatus) -> String {
        let key = HTMLText.escaped(status.key)
        let pollMilliseconds = max(200, settings.pollInterval.millisecondsValue)
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Subnet \(key) · SubnetDHT</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <header><h1>Subnet <code>\(key)</code></h1><p id="sync" class="sync">live</p></header>
            <main id="live" data-poll="\(pollMilliseconds)">
            \(live(status))
            </main>
            <footer>JSON: <a href="peers.json">/peers.json</a> · <a href="records/\(PercentEncoding.encode(status.key)).json">/records/\(key).json</a> · \
            <a href="health">/health</a> · <a href="metrics">/metrics</a> · SubnetDHT \(SubnetDHTVersion.current)</footer>
            <script>\(Self.script)</script>
            </body>
            </html>

            """
    }

    /// The part of the page that changes: this node, the counts, the chart, both tables.
    func live(_ status: SubnetStatus) -> String {
        var html = [thisNode(status), stats(status)]
        html.append("<div class=\"panels\"><section class=\"counts\"><h2>By role</h2>\(pills(status.countsByRole))"
            + "<h2>By state</h2>\(pills(status.countsByState))</section>"
            + "<section class=\"history\"><h2>Live peers, last hour</h2>\(LivePeerChart().svg(status.history, now: status.now))</section></div>")
        html.append(liveTable(status))
        html.append(departedTable(status))
        let read = status.updated.map { "view read \(HTMLText.duration(status.now - $0)) ago" } ?? "view not read yet"
        html.append("<p class=\"updated\">\(read)</p>")
        return html.joined(separator: "\n")
    }

    private func thisNode(_ status: SubnetStatus) -> String {
        var parts = ["This node \(keyCode(status.owner))"]
        if let info = status.info {
            if let name = info.name { parts.append("<b>\(HTMLText.escaped(name))</b>") }
            parts += [HTMLText.escaped(info.role), badge(info.state.label), "<code>\(HTMLText.escaped(info.address.description))</code>"]
        }
        return "<p class=\"me\">" + parts.joined(separator: " · ") + "</p>"
    }

    private func stats(_ status: SubnetStatus) -> String {
        let stats = [(status.live.count, "live peers", "live-count"), (status.departed.count, "left recently", "departed-count"),
                     (status.routingTableSize, "contacts in the routing table", "routing-table"),
                     (status.storedRecords, "records stored here", "stored-records")]
        return "<section class=\"stats\">" + stats.map { "<div class=\"stat\" id=\"\($2)\"><b>\($0)</b>\($1)</div>" }.joined() + "</section>"
    }

    private func pills(_ counts: [(label: String, count: Int)]) -> String {
        guard !counts.isEmpty else { return "<p class=\"empty\">none</p>" }
        return "<ul>" + counts.map { "<li>\(HTMLText.escaped($0.label)) <b>\($0.count)</b></li>" }.joined() + "</ul>"
    }

    private func liveTable(_ status: SubnetStatus) -> String {
        let header = tableHeader([("Owner", false), ("Name", false), ("Role", false), ("State", false), ("Throughput", true),
                                  ("Version", false), ("Address", false), ("Heartbeat", true), ("Expires", true)])
        let shown = status.live.prefix(settings.maxPageRows)
        let rows = shown.map { peer -> String in
            let age = status.heartbeatAge(of: peer)
            let expiresIn = max(.zero, Timestamp(seconds: peer.expires) - status.now)
            return "<tr data-owner=\"\(peer.owner.hex)\" data-state=\"\(peer.info.state.label)\">"
                + keyCell(peer.owner) + textCell(peer.info.name ?? "-") + textCell(peer.info.role)
                + "<td data-v=\"\(peer.info.state.label)\">\(badge(peer.info.state.label))</td>"
                + numberCell(peer.info.throughputReported ? peer.info.throughput : -1, RecordRow.throughputText(of: peer.info))
                + textCell(peer.info.version ?? "-") + textCell(peer.info.address.description, code: true)
                + numberCell(age?.millisecondsValue ?? -1, age.map { "\(HTMLText.duration($0)) ago" } ?? "-")
                + numberCell(expiresIn.millisecondsValue, "in \(HTMLText.duration(expiresIn))")
                + "</tr>"
        }
        var html = "<section><h2>Live peers (\(status.live.count))</h2>"
        guard !status.live.isEmpty else { return html + "<p class=\"empty\">No live peers in this node's view yet.</p></section>" }
        html += "<div class=\"scroll\"><table id=\"peers\" class=\"sortable\">\(header)<tbody>\(rows.joined())</tbody></table></div>"
        if status.live.count > shown.count {
            html += "<p class=\"empty\">and \(status.live.count - shown.count) more: see <a href=\"peers.json\">/peers.json</a></p>"
        }
        return html + "</section>"
    }

    private func departedTable(_ status: SubnetStatus) -> String {
        let header = tableHeader([("Owner", false), ("Name", false), ("Role", false), ("Gone", false), ("Address", false),
                                  ("Last heartbeat", true), ("Noticed", true)])
        let rows = status.departed.prefix(settings.maxPageRows).map { departure -> String in
            let peer = departure.peer
            let age = status.heartbeatAge(of: peer)
            let noticed = max(.zero, status.now - departure.noticed)
            return "<tr class=\"gone\" data-owner=\"\(peer.owner.hex)\" data-reason=\"\(departure.reason.rawValue)\">"
                + keyCell(peer.owner) + textCell(peer.info.name ?? "-") + textCell(peer.info.role)
                + "<td data-v=\"\(departure.reason.rawValue)\">\(badge(departure.reason.rawValue))</td>"
                + textCell(peer.info.address.description, code: true)
                + numberCell(age?.millisecondsValue ?? -1, age.map { "\(HTMLText.duration($0)) ago" } ?? "-")
                + numberCell(noticed.millisecondsValue, "\(HTMLText.duration(noticed)) ago")
                + "</tr>"
        }
        let html = "<section class=\"departed\"><h2>Left recently (\(status.departed.count))</h2>"
        guard !status.departed.isEmpty else { return html + "<p class=\"empty\">No peer has left or expired lately.</p></section>" }
        return html + "<div class=\"scroll\"><table id=\"departed\" class=\"sortable\">\(header)<tbody>\(rows.joined())</tbody></table></div></section>"
    }

    /// Column headers are buttons: the script sorts by the column's `data-v` values.
    private func tableHeader(_ columns: [(title: String, numeric: Bool)]) -> String {
        "<thead><tr>" + columns.map { column in
            "<th\(column.numeric ? " class=\"num\" data-type=\"number\"" : "")><button type=\"button\">\(column.title)</button></th>"
        }.joined() + "</tr></thead>"
    }

    private func keyCode(_ key: PublicKey) -> String {
        "<code class=\"key\" title=\"\(key.hex)\">\(key.hex.prefix(16))</code>"
            + "<button type=\"button\" class=\"copy\" data-copy=\"\(key.hex)\" aria-label=\"copy the full key\">copy</button>"
    }

    private func keyCell(_ key: PublicKey) -> String {
        "<td data-v=\"\(key.hex)\">\(keyCode(key))</td>"
    }

    private func textCell(_ text: String, code: Bool = false) -> String {
        let escaped = HTMLText.escaped(text)
        return "<td data-v=\"\(escaped)\">\(code ? "<code>\(escaped)</code>" : escaped)</td>"
    }

    private func numberCell(_ value: Int64, _ text: String) -> String {
        "<td class=\"num\" data-v=\"\(value)\">\(HTMLText.escaped(text))</td>"
    }

    private func badge(_ label: String) -> String {
        let escaped = HTMLText.escaped(label)
        return "<span class=\"badge \(escaped)\">\(escaped)</span>"
    }

    static let style = #"""
        :root{color-scheme:light dark;--fg:#1d2430;--muted:#5f6b7a;--bg:#fff;--card:#f3f5f8;--line:#e1e5ec;--accent:#2563eb;--ok:#137333;--okbg:#e3f3e8;--warn:#8a5a00;--warnbg:#fcefd2;--gone:#98a0aa;--bad:#b42318}
        @media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#9ca3af;--bg:#12161b;--card:#1c222a;--line:#2b323c;--accent:#60a5fa;--ok:#7ddc9a;--okbg:#173322;--warn:#f4c56b;--warnbg:#3a2d12;--gone:#6b7280;--bad:#f87171}}
        *{box-sizing:border-box}
        body{margin:0 auto;max-width:1200px;padding:16px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
        header{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:4px 16px}
        h1{font-size:20px;margin:0}h2{font-size:15px;margin:18px 0 8px}
        code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}
        .sync{margin:0;color:var(--muted)}.sync.stale{color:var(--bad);font-weight:600}
        .me{color:var(--muted);margin:6px 0 10px;overflow-wrap:anywhere}
        .stats{display:flex;flex-wrap:wrap;gap:8px}
        .stat{background:var(--card);border-radius:8px;padding:8px 14px;min-width:130px;color:var(--muted)}
        .stat b{display:block;font-size:22px;color:var(--fg)}
        .panels{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,2fr);gap:0 20px}
        @media (max-width:700px){.panels{grid-template-columns:minmax(0,1fr)}}
        .counts ul{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:6px}
        .counts li{background:var(--card);border-radius:999px;padding:2px 10px}
        svg.chart{display:block;width:100%;height:auto;background:var(--card);border-radius:8px}
        svg .grid{stroke:var(--line);stroke-dasharray:4 4}svg .axis{stroke:var(--muted)}svg text{fill:var(--muted);font-size:12px}
        svg .band{fill:var(--accent);opacity:.18}svg .line{fill:none;stroke:var(--accent);stroke-width:2}svg .dot{fill:var(--accent)}
        .scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
        table{border-collapse:collapse;width:100%;white-space:nowrap}
        th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line)}
        th.num,td.num{text-align:right}
        th button{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:0;cursor:pointer}
        th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
        .badge{border-radius:4px;padding:1px 6px;font-size:12px;background:var(--card);color:var(--gone)}
        .badge.online{background:var(--okbg);color:var(--ok)}.badge.joining{background:var(--warnbg);color:var(--warn)}
        tr.gone td{color:var(--gone)}
        button.copy{font:inherit;font-size:11px;padding:0 6px;margin-left:6px;border:1px solid var(--line);border-radius:4px;background:none;color:var(--muted);cursor:pointer}
        .empty,.updated{color:var(--muted)}
        footer{margin-top:20px;color:var(--muted);overflow-wrap:anywhere}a{color:var(--accent)}
        @media (max-width:600px){body{padding:10px}th,td{padding:5px 6px}.stat{min-width:0;flex:1 1 40%}svg text{font-size:18px}}
        """#

    /// Swaps in the live part every poll interval (backing off while the node does not
    /// answer), keeps each table's sort order across swaps, copies keys.
    static let script = #"""
        (function () {
          'use strict';
          var main = document.getElementById('live');
          var sync = document.getElementById('sync');
          var poll = Number(main.getAttribute('data-poll')) || 2000;
          var delay = poll;
          var sorts = {};
          var lastAnswer = Date.now();

          function value(row, column, numeric) {
            var cell = row.cells[column];
            var text = cell ? (cell.getAttribute('data-v') || cell.textContent) : '';
            return numeric ? Number(text) : text.toLowerCase();
          }

          function sortTable(table) {
            var order = sorts[table.id];
            var heads = table.tHead.rows[0].cells;
            for (var i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');
            if (!order) return;
            heads[order.column].setAttribute('aria-sort', order.direction > 0 ? 'ascending' : 'descending');
            var numeric = heads[order.column].getAttribute('data-type') === 'number';
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            rows.sort(function (a, b) {
              var x = value(a, order.column, numeric), y = value(b, order.column, numeric);
              return (x < y ? -1 : x > y ? 1 : 0) * order.direction;
            });
            rows.forEach(function (row) { body.appendChild(row); });
          }

          function copyByHand(text) {
            var area = document.createElement('textarea');
            area.value = text;
            area.setAttribute('readonly', '');
            area.style.position = 'fixed';
            area.style.opacity = '0';
            document.body.appendChild(area);
            area.select();
            var copied = false;
            try { copied = document.execCommand('copy'); } catch (error) { copied = false; }
            document.body.removeChild(area);
            return copied;
          }

          function copy(button) {
            var text = button.getAttribute('data-copy');
            function show(copied) {
              button.textContent = copied ? 'copied' : 'copy failed';
              setTimeout(function () { button.textContent = 'copy'; }, 1500);
            }
            if (navigator.clipboard && window.isSecureContext) {
              navigator.clipboard.writeText(text).then(function () { show(true); }, function () { show(copyByHand(text)); });
            } else {
              show(copyByHand(text));
            }
          }

          document.addEventListener('click', function (event) {
            var button = event.target.closest('button');
            if (!button) return;
            if (button.classList.contains('copy')) { copy(button); return; }
            var head = button.closest('th'), table = button.closest('table.sortable');
            if (!head || !table) return;
            var order = sorts[table.id];
            sorts[table.id] = { column: head.cellIndex, direction: order && order.column === head.cellIndex ? -order.direction : 1 };
            sortTable(table);
          });

          function refresh() {
            fetch('status.html', { cache: 'no-store' }).then(function (response) {
              if (!response.ok) throw new Error('HTTP ' + response.status);
              return response.text();
            }).then(function (html) {
              main.innerHTML = html;
              Array.prototype.forEach.call(main.querySelectorAll('table.sortable'), sortTable);
              lastAnswer = Date.now();
              delay = poll;
              sync.textContent = 'live';
              sync.className = 'sync';
            }).catch(function () {
              delay = Math.min(delay * 2, 30000);
              sync.textContent = 'no answer from the node for ' + Math.round((Date.now() - lastAnswer) / 1000) + ' s';
              sync.className = 'sync stale';
            }).then(function () { setTimeout(refresh, delay); });
          }

          setTimeout(refresh, delay);
        })();
        """#
}
