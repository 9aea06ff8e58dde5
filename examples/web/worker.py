"""A worker that asks the web service for work every two seconds until it is stopped."""
import os
import signal
import sys
import time
import urllib.request

URL = os.environ.get("WEB_URL", "http://127.0.0.1:8077")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

while True:
    try:
        with urllib.request.urlopen(URL, timeout=2) as reply:
            print("worker got:", reply.read().decode().strip(), flush=True)
    except OSError as error:
        print("worker: web unreachable:", error, flush=True)
    time.sleep(2)
