#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""badstore.py PORT DIR: an S3 that misbehaves on purpose, for what no
real store can be made to do on demand. Path-style requests, any
credentials. It keeps what it stores in DIR/objects (one file per key,
the key %-quoted) and logs each request to DIR/requests.log. DIR/mode.json,
read at every request, says how to answer each operation (create, part,
complete, put, abort, delete, copy): {"complete": {"mode": M, "times": N}}
answers the first N requests of that operation with M, the rest as S3
would. The modes are what S3 and broken stores do:

  err200_ws     200, an XML declaration, 20000 blanks, then <Error>
                (S3 keeps a long CompleteMultipartUpload alive with
                blanks, and may still fail it)
  ok200_ws      200, an XML declaration, 20000 blanks, then the result
                (the same, when it succeeds)
  err200_trunc  200, the connection closed in the middle of <Error>
  empty200      200 and no body at all
  huge_body     200 and a body that never ends
  drip          200 and blanks, 2 KiB a second, forever
  403           AccessDenied (a bucket policy that allows PutObject
                but not AbortMultipartUpload refuses every abort)
"""
import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
DIR = sys.argv[2]
OBJECTS = os.path.join(DIR, "objects")
os.makedirs(OBJECTS, exist_ok=True)
LOG = open(os.path.join(DIR, "requests.log"), "a", buffering=1)
lock = threading.Lock()
uploads = {}    # upload id: {part number: bytes}
counts = {}


def misbehaviour(op):
    try:
        with open(os.path.join(DIR, "mode.json")) as f:
            m = json.load(f).get(op)
    except (OSError, ValueError):
        m = None
    with lock:
        counts[op] = counts.get(op, 0) + 1
        n = counts[op]
    if m is None or n > m.get("times", 1 << 30):
        return None
    return m["mode"]


def path_of(key):
    return os.path.join(OBJECTS, urllib.parse.quote(key, safe=""))


def publish(key, chunks):
    # Whole or not at all, as a store shows an object: a reader polling
    # the folder must never copy half of one.
    tmp = os.path.join(DIR, "publishing.%d" % threading.get_ident())
    with open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
    os.replace(tmp, path_of(key))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def op(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        key = urllib.parse.unquote(u.path)
        m = self.command
        if m == "POST":
            return ("create" if "uploads" in q else "complete"), key, q
        if m == "PUT" and "partNumber" in q:
            return "part", key, q
        if m == "PUT" and self.headers.get("x-amz-copy-source"):
            return "copy", key, q
        if m == "PUT":
            return "put", key, q
        return ("abort" if "uploadId" in q else "delete"), key, q

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for h, v in headers:
            self.send_header(h, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def misbehave(self, bad):
        """True when the request was answered the bad way."""
        if bad == "err200_ws":
            self.reply(200, b"<?xml version='1.0' encoding='UTF-8'?>\n" +
                       b" " * 20000 + b"<Error><Code>InternalError</Code>"
                       b"<Message>We encountered an internal error."
                       b"</Message></Error>")
        elif bad == "err200_trunc":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"<?xml version='1.0' encoding='UTF-8'?>\n"
                             b"<Error><Code>Intern")
            self.close_connection = True
        elif bad == "empty200":
            self.reply(200)
        elif bad == "403":
            self.reply(403, b"<Error><Code>AccessDenied</Code>"
                       b"<Message>Access Denied</Message></Error>")
        elif bad in ("huge_body", "drip"):
            self.send_response(200)
            self.send_header("ETag", '"abc"')
            self.send_header("Content-Length", str(8 << 30))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                while True:
                    if bad == "drip":
                        self.wfile.write(b" " * 512)
                        time.sleep(0.25)
                    else:
                        self.wfile.write(b"<" + b"x" * 65535)
            except OSError:
                pass
        else:
            return False
        return True

    def handle_op(self):
        what, key, q = self.op()
        data = self.body() if self.command in ("PUT", "POST") else b""
        bad = misbehaviour(what)
        LOG.write("%.3f %s %s %s %s\n" % (time.time(), self.command,
                                          self.path[:200], what, bad))
        if bad is not None and self.misbehave(bad):
            return
        if what == "create":
            uid = uuid.uuid4().hex
            with lock:
                uploads[uid] = {}
            return self.reply(200, (
                "<?xml version='1.0'?><InitiateMultipartUploadResult>"
                "<UploadId>%s</UploadId></InitiateMultipartUploadResult>"
                % uid).encode())
        if what == "part":
            with lock:
                parts = uploads.get(q["uploadId"][0])
            if parts is None:
                return self.reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
            parts[int(q["partNumber"][0])] = data
            return self.reply(200, headers=[
                ("ETag", '"%s"' % hashlib.md5(data).hexdigest())])
        if what == "complete":
            with lock:
                parts = uploads.pop(q["uploadId"][0], None)
            if parts is None:
                return self.reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
            listed = re.findall(rb"<PartNumber>(\d+)</PartNumber>", data)
            publish(key, [parts[int(n)] for n in listed])
            return self.reply(200, b"<?xml version='1.0'?>" +
                              (b" " * 20000 if bad == "ok200_ws" else b"") +
                              b"<CompleteMultipartUploadResult><ETag>\"x-1\""
                              b"</ETag></CompleteMultipartUploadResult>")
        if what == "put":
            publish(key, [data])
            return self.reply(200, headers=[
                ("ETag", '"%s"' % hashlib.md5(data).hexdigest())])
        if what == "copy":
            src = "/" + urllib.parse.unquote(
                self.headers["x-amz-copy-source"]).lstrip("/")
            try:
                with open(path_of(src), "rb") as f:
                    d = f.read()
            except OSError:
                return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
            publish(key, [d])
            return self.reply(200, b"<CopyObjectResult><ETag>\"e\"</ETag>"
                              b"</CopyObjectResult>")
        if what == "abort":
            with lock:
                uploads.pop(q["uploadId"][0], None)
            return self.reply(204)
        try:
            os.unlink(path_of(key))
        except OSError:
            pass
        return self.reply(204)

    do_PUT = do_POST = do_DELETE = handle_op


class Server(ThreadingHTTPServer):
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
