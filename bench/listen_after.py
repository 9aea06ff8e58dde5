"""listen_after.py PORT [DELAY]: listen on 127.0.0.1:PORT DELAY seconds (default 0.2) after this
process was started, as the kernel records it, then wait to be stopped."""
import os
import socket
import sys
import time

port = int(sys.argv[1])
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
with open("/proc/self/stat") as f:
    started_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
started = started_ticks / os.sysconf("SC_CLK_TCK")
elapsed = time.clock_gettime(time.CLOCK_BOOTTIME) - started
time.sleep(max(0.0, delay - elapsed))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen()
time.sleep(3600)
