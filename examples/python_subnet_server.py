"""A subnet server's heartbeat thread: SubnetDHT runs as a sidecar, the server reports its
throughput every few seconds and prints who joins, changes and leaves. Flags it does not know
go to `subnet-dht run` (e.g. --bootstrap HOST:PORT --role miner --info stake=5)."""
import argparse, os, random, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
from subnet_dht import Client, NodeUnreachable  # pip install ./clients/python, or the path above

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--subnet-dht", default="subnet-dht", help="the subnet-dht binary")
parser.add_argument("--http-port", type=int, default=9100)
parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until Ctrl-C)")
args, run_flags = parser.parse_known_args()

token_file = os.path.join(tempfile.mkdtemp(), "control-token")
node = subprocess.Popen([args.subnet_dht, "run", "--port", "0", "--http-port", str(args.http_port),
                         "--control-token", token_file, *run_flags], stdout=subprocess.PIPE, text=True)
print(node.stdout.readline().strip(), flush=True)  # listening HOST:PORT NODE_ID PUBLIC_KEY
client = Client(args.http_port, token_file=token_file)

def report_throughput():  # what a server measures: here, requests a second it pretends to serve
    while node.poll() is None:
        time.sleep(3)
        try:
            client.update(tput=round(random.uniform(10, 15), 1))
        except NodeUnreachable:
            return  # the node is stopping

threading.Thread(target=report_throughput, daemon=True).start()
if args.seconds:
    threading.Timer(args.seconds, node.terminate).start()  # SIGTERM: OFFLINE, then exit
try:
    for event in client.events(reconnect=False):
        for peer in event.data if event.name == "reset" else [event.data]:
            tput = "-" if peer["tput"] is None else "%.1f/s" % (peer["tput"] / 1000)
            print("%-7s %-6s %-9s %-9s %s %s" % (event.name, peer["name"] or "-", peer["role"], tput, peer["owner"][:8], peer["info"]), flush=True)
finally:
    node.terminate()
    node.wait()
