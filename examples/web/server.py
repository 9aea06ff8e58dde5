"""A tiny HTTP server: / says hello, /health says ok once the data folder exists."""
import http.server
import os
import pathlib

PORT = int(os.environ.get("PORT", "8077"))
DATA = pathlib.Path(__file__).parent / "data" / "prepared-at"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            ok = DATA.exists()
            self.reply(200 if ok else 503, b"ok\n" if ok else b"not prepared\n")
        else:
            self.reply(200, b"hello from web\n")

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("web:", fmt % args, flush=True)


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(f"listening on http://127.0.0.1:{PORT}", flush=True)
server.serve_forever()
