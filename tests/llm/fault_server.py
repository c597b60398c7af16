#!/usr/bin/env python3
"""A loopback HTTP server for the failure paths of gatrec's LLM clients.

It serves OpenAI-shaped answers (POST .../v1/embeddings, POST .../v1/chat/completions) and, on
request, the failures a real server can show: error statuses (with Retry-After), connections that
are accepted but never answered, connections closed without an answer, and malformed bodies.

Usage: fault_server.py            binds 127.0.0.1 on a free port, prints "PORT <n>" and serves
                                  until its standard input closes (the test that started it is
                                  gone) or MAX_LIFETIME seconds have passed.

The behaviour is chosen by path segments before "/v1/", so every test says what it wants in the
URL it gives the client:

    /<token>/status=503/times=2/retry_after=1/v1/embeddings

- <token>          the first segment without "=": requests are counted per token
- status=C         answer HTTP C ...
- times=N          ... to the first N requests of the token only (default: all), then normally
- retry_after=V    send "Retry-After: V" with those error answers
- hang=S           accept and read the request, then answer nothing for S seconds (at most 60)
- close=1          read the request, then close the connection without an answer
- body=KIND        answer 200 with a malformed body: garbage, notobject, nodata, wrongcount,
                   badindex, dupindex, noindex, inf, dims, strings, nochoices, nocontent
- dim=D            width of the embeddings served (default 8)
- reply=KIND       chat reply: text (default), profile (a unified Markdown profile), garbage
- require_key=K    answer 401 unless the request has "Authorization: Bearer K"

POST or GET /count/<token> answers {"requests": n}, the number of API requests of that token.
Embeddings rows are returned in reverse index order, so that a client must place them by index.
"""
import hashlib
import json
import math
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_LIFETIME = 900  # seconds; the server stops by itself even if nobody stops it

_counts = {}
_lock = threading.Lock()

PROFILE = """# {title}

## Overview
A test film about careful engineers who check every answer twice.

## Attributes
- **Genre**: Drama, Comedy
- **Tags**: testing, reliability

## Description
A calm story told with dry humour.

## Dislikes:
- explosions
- car chases"""


def _vector(text, dim):
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    values = [(digest[k % len(digest)] - 127.5) / 127.5 + 0.01 * k for k in range(dim)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _parse(path):
    """(endpoint, token, params) for .../v1/<endpoint>; endpoint None for other paths."""
    marker = path.find("/v1/")
    if marker < 0:
        return None, "", {}
    endpoint = path[marker + 4:].split("?")[0]
    token, params = "", {}
    for segment in path[:marker].split("/"):
        if not segment:
            continue
        if "=" in segment:
            key, value = segment.split("=", 1)
            params[key] = value
        elif not token:
            token = segment
    return endpoint, token, params


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the tests read the client's errors, not this log
        pass

    def _send(self, code, body, headers=None):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _count_route(self):
        if not self.path.startswith("/count/"):
            return False
        token = self.path[len("/count/"):].strip("/")
        with _lock:
            n = _counts.get(token, 0)
        self._send(200, json.dumps({"requests": n}))
        return True

    def do_GET(self):
        if not self._count_route():
            self._send(404, json.dumps({"error": {"message": "unknown route"}}))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if self._count_route():
            return
        endpoint, token, params = _parse(self.path)
        if endpoint is None:
            self._send(404, json.dumps({"error": {"message": "unknown route"}}))
            return
        with _lock:
            _counts[token] = _counts.get(token, 0) + 1
            n = _counts[token]

        if "require_key" in params and self.headers.get("Authorization") != "Bearer " + params["require_key"]:
            self._send(401, json.dumps({"error": {"message": "fault server: wrong or missing API key"}}))
            return

        if "hang" in params:
            time.sleep(min(float(params["hang"]), 60.0))
            self.close_connection = True
            return
        if params.get("close") == "1":
            self.close_connection = True
            return
        if "status" in params:
            times = params.get("times")
            if times is None or n <= int(times):
                headers = {}
                if "retry_after" in params:
                    headers["Retry-After"] = params["retry_after"]
                message = "fault server: status %s on request %d" % (params["status"], n)
                self._send(int(params["status"]), json.dumps({"error": {"message": message, "type": "test"}}), headers)
                return

        try:
            request = json.loads(raw.decode("utf-8"))
        except ValueError:
            self._send(400, json.dumps({"error": {"message": "invalid JSON body"}}))
            return
        if endpoint == "embeddings":
            self._embeddings(request, params)
        elif endpoint == "chat/completions":
            self._chat(request, params)
        else:
            self._send(404, json.dumps({"error": {"message": "unknown endpoint " + endpoint}}))

    def _embeddings(self, request, params):
        texts = request.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            self._send(400, json.dumps({"error": {"message": "missing 'input'"}}))
            return
        dim = int(params.get("dim", "8"))
        rows = [{"object": "embedding", "index": i, "embedding": _vector(t, dim)} for i, t in enumerate(texts)]
        rows.reverse()
        kind = params.get("body")
        if kind == "garbage":
            self._send(200, '{"object": "list", "data": [')
            return
        if kind == "notobject":
            self._send(200, "[1, 2, 3]")
            return
        if kind == "nodata":
            self._send(200, json.dumps({"object": "list", "model": "fault"}))
            return
        if kind == "wrongcount":
            rows = rows[1:]
        elif kind == "badindex":
            rows[0]["index"] = len(texts) + 3
        elif kind == "dupindex" and len(rows) > 1:
            rows[0]["index"] = rows[1]["index"]
        elif kind == "noindex":
            del rows[0]["index"]
        elif kind == "dims":
            rows[0]["embedding"] = rows[0]["embedding"] + [0.5]
        elif kind == "strings":
            rows[0]["embedding"] = ["0.1"] * dim
        if kind == "inf":
            # 1e39 is a finite double but overflows a float: the client must catch it.
            body = json.dumps({"object": "list", "data": rows}).replace(
                json.dumps(rows[0]["embedding"][0]), "1e39", 1)
            self._send(200, body)
            return
        self._send(200, json.dumps({"object": "list", "data": rows, "model": request.get("model", ""),
                                    "usage": {"prompt_tokens": 1, "total_tokens": 1}}))

    def _chat(self, request, params):
        kind = params.get("body")
        if kind == "garbage":
            self._send(200, "this is not JSON")
            return
        if kind == "nochoices":
            self._send(200, json.dumps({"object": "chat.completion", "choices": []}))
            return
        if kind == "nocontent":
            self._send(200, json.dumps({"object": "chat.completion",
                                        "choices": [{"index": 0, "message": {"role": "assistant"}}]}))
            return
        reply = params.get("reply", "text")
        if reply == "profile":
            title = "Unknown"
            for message in request.get("messages", []):
                for line in str(message.get("content", "")).splitlines():
                    if line.startswith("Title: "):
                        title = line[len("Title: "):]
            content = PROFILE.format(title=title)
        elif reply == "garbage":
            content = "I am sorry, I cannot help with that."
        else:
            content = "hello from the fault server"
        self._send(200, json.dumps({
            "object": "chat.completion",
            "model": request.get("model", ""),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def watch_stdin():
        try:
            while sys.stdin.read(4096):
                pass
        except (OSError, ValueError):
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    time.sleep(MAX_LIFETIME)
    os._exit(0)


if __name__ == "__main__":
    main()
