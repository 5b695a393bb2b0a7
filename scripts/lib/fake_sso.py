"""A fake SSO portal for scripts/bench.sh: ACCOUNTS accounts with ROLES roles each, 100 to
a page, for `stsenv sso sync`. Usage: python3 fake_sso.py PORT ACCOUNTS ROLES"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, accounts, roles = (int(a) for a in sys.argv[1:4])
PAGE = 100


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm and the
    # client's delayed ACK hold every answer back some 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        start = int(q.get("next_token", "0"))
        if url.path == "/assignment/accounts":
            items = [
                {"accountId": "%012d" % (100000000000 + i), "accountName": "account-%d" % i}
                for i in range(start, min(start + PAGE, accounts))
            ]
            doc = {"accountList": items}
            if start + PAGE < accounts:
                doc["nextToken"] = str(start + PAGE)
        elif url.path == "/assignment/roles":
            doc = {"roleList": [{"roleName": "Role%d" % r, "accountId": q["account_id"]} for r in range(roles)]}
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
