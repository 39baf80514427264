"""Concurrent streams against an OpenAI-compatible chat endpoint.

Each of STREAMS threads sends REQUESTS requests one after another (its own
prompt, the same sampling and max_tokens for all, ignore_eos so that every
answer has exactly max_tokens tokens); prints one JSON line with the
aggregate completion tokens per second over the wall time of the run.

    python3 parallel_load.py URL STREAMS REQUESTS MAX_TOKENS [TOKEN] [MODEL]
"""

import json
import sys
import threading
import time
import urllib.request

PROMPTS = [
    "Tell me about the sea.",
    "Describe a mountain village in winter.",
    "Write about a lighthouse keeper.",
    "Explain how bread is made.",
    "Describe a busy train station.",
    "Tell me about the history of maps.",
    "Write about a garden in spring.",
    "Describe a night sky full of stars.",
]


def call(url, token, model, prompt, max_tokens):
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.7,
        "top_k": 40,
        "top_p": 0.9,
        "repeat_penalty": 1.0,
        "ignore_eos": True,
        "stream": False,
    }
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=600) as resp:
        answer = json.load(resp)
    return answer["usage"]["completion_tokens"]


def main():
    url, streams, requests, max_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    token = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else None
    model = sys.argv[6] if len(sys.argv) > 6 else "answer_generation"
    tokens = [0] * streams
    errors = []
    start = threading.Barrier(streams + 1)

    def stream(i):
        start.wait()
        try:
            for r in range(requests):
                tokens[i] += call(url, token, model, PROMPTS[(i + r) % len(PROMPTS)], max_tokens)
        except Exception as e:  # reported, and the run counts as failed
            errors.append(repr(e))

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    start.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    total = sum(tokens)
    print(json.dumps({"streams": streams, "tokens": total, "seconds": wall, "tps": total / wall, "errors": errors}))


if __name__ == "__main__":
    main()
