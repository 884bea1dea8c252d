# Python's http.server.HTTPServer (not the Threading one) speaking HTTP/1.1 keep-alive: it serves one
# connection at a time, as many embedded devices do, so a second connection waits until the client
# closes the first. Prints its port on the first line of stdout.
#   /count              the number of TCP connections accepted so far (text)
#   /hop/N              302 to /private-N/doc
#   /private-N/doc      401 with a Basic challenge unless Authorization is joe:secret, then 200
#   anything else       200 with a small body
import base64
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

GOOD = 'Basic ' + base64.b64encode(b'joe:secret').decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    connections = 0
    # A connection left idle this long is dropped, so a client that never closes cannot wedge the
    # spec's teardown (the specs finish in far less).
    timeout = 30

    def setup(self):
        Handler.connections += 1
        super().setup()

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path
        if path == '/count':
            self.answer(200, str(Handler.connections))
        elif path.startswith('/hop/'):
            self.answer(302, 'moved', [('Location', '/private-' + path[5:] + '/doc')])
        elif path.startswith('/private-'):
            if self.headers.get('Authorization') == GOOD:
                self.answer(200, 'secret page')
            else:
                self.answer(401, 'who are you', [('WWW-Authenticate', 'Basic realm="device"')])
        else:
            self.answer(200, 'page ' + path)

    def log_message(self, *args):
        pass


server = HTTPServer(('127.0.0.1', 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
