"""A `switchboard serve` on a data folder of its own, for the real-client tests.

The folder holds the test model, an embedding copy of it, the vision test
projector paired with the model, two API tokens, and a fake OpenAI-compatible
cloud provider that a use case falls over to. Everything is set up through
the command line (`switchboard ...`), as an admin would.
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BIN = os.environ.get("SWITCHBOARD_BIN", "")
MODEL_ID = "gemma-3-270m-q4_k_m"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeCloud(BaseHTTPRequestHandler):
    """Speaks OpenAI's wire format: a model list and a fixed answer, streamed or not."""

    answer = "Fallback answer from the fake cloud."

    def log_message(self, *args):
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if not body.get("stream"):
            self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": self.answer},
                                          "finish_reason": "stop"}], "usage": usage})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        words = self.answer.split(" ")
        for i, word in enumerate(words):
            piece = word if i + 1 == len(words) else word + " "
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body.get("model"),
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        last = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body.get("model"),
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
        self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())


class Server:
    def __init__(self, url, token, admin, data, process):
        self.url, self.token, self.admin, self.data, self.process = url, token, admin, data, process


def cli(data, *args, stdin=None):
    done = subprocess.run([BIN, "--data-dir", str(data), *args], input=stdin, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "SWITCHBOARD_SECRET_STORE": "file"})
    assert done.returncode == 0, f"switchboard {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    assert BIN and Path(BIN).exists(), "set SWITCHBOARD_BIN to the switchboard binary"
    root = tmp_path_factory.mktemp("api")
    data = root / "data"
    (data / "models").mkdir(parents=True)
    model = Path(os.environ["SWITCHBOARD_MODEL_CACHE"]) / f"{MODEL_ID}.gguf"
    assert model.exists(), f"the test model is missing at {model}"
    os.link(model, data / "models" / f"{MODEL_ID}.gguf")
    tools = Path(BIN).parent
    subprocess.run([tools / "make-test-embedder", model, data / "models" / "gemma-embed.gguf"], check=True,
                   capture_output=True)
    projector = Path(os.environ["TEST_PROJECTOR"])
    shutil.copy(projector, data / "models" / projector.name)
    # A model file that disappears: the route's first candidate fails over to the fake cloud.
    gone = root / "gone.gguf"
    os.link(model, gone)
    cli(data, "models", "import", str(gone), "--reference")
    cli(data, "models", "pair", MODEL_ID, "--projector", projector.stem)
    cli(data, "use-cases", "set", "vision_vlm", "--model", f"local/{MODEL_ID}")

    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeCloud)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    cli(data, "providers", "add", "--kind", "openai_compatible", "--name", "fake")
    cli(data, "providers", "set", "fake", "--enabled", "true", "--base-url",
        f"http://127.0.0.1:{fake.server_address[1]}/v1", "--key-stdin", stdin="sk-fake-cloud-key\n")
    cli(data, "providers", "test", "fake")
    cli(data, "use-cases", "set", "query_decomposition", "--model", "local/gone", "--fallback", "fake/fake-model")
    gone.unlink()

    token = json.loads(cli(data, "--json", "tokens", "create", "py-client"))["secret"]
    admin = json.loads(cli(data, "--json", "tokens", "create", "py-admin", "--admin"))["secret"]
    port = free_port()
    process = subprocess.Popen([BIN, "--data-dir", str(data), "serve", "--port", str(port), "--max-body-mib", "2",
                                "--fetch-image-urls"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "SWITCHBOARD_SECRET_STORE": "file"})
    line = process.stdout.readline()
    assert line.startswith("listening on"), f"serve said {line!r}: {process.stderr.read() if process.poll() is not None else ''}"
    yield Server(f"http://127.0.0.1:{port}", token, admin, data, process)
    process.terminate()
    assert process.wait(timeout=30) == 0, "serve stops cleanly on SIGTERM"
    fake.shutdown()
