"""The official `openai` and `ollama` Python packages against `switchboard serve`
on the test model: what an unchanged client of either API gets."""

import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import ollama
import openai
import pytest

from conftest import cli

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "tests" / "fixtures" / "images"


def image_path():
    cache = Path(os.environ.get("SWITCHBOARD_CACHE", Path.home() / ".cache/switchboard"))
    for candidate in [cache / "test-images" / "astronaut.png", cache / "test-images" / "coffee.png"]:
        if candidate.exists():
            return candidate
    found = sorted((cache / "test-images").glob("*.png")) if (cache / "test-images").exists() else []
    assert found, "the sample photos are missing (scripts/test fetches them)"
    return found[0]


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def oa(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=server.token, max_retries=0, timeout=300)


@pytest.fixture
def ol(server):
    return ollama.Client(host=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=300)


def test_openai_lists_use_cases_and_models(oa):
    ids = [m.id for m in oa.models.list().data]
    assert "answer_generation" in ids and "vision_vlm" in ids
    assert "local/gemma-3-270m-q4_k_m" in ids and "fake/fake-model" in ids


def test_openai_chat_plain_and_streamed(oa):
    reply = oa.chat.completions.create(model="answer_generation", max_tokens=8, temperature=0,
                                       messages=[{"role": "user", "content": "Say hello."}])
    assert reply.choices[0].message.content
    assert reply.usage.completion_tokens == 8 and reply.choices[0].finish_reason == "length"
    extra = reply.model_extra["switchboard"]
    assert extra["model"] == "local/gemma-3-270m-q4_k_m" and extra["ledger_id"]

    parts, usage = [], None
    for chunk in oa.chat.completions.create(model="answer_generation", max_tokens=8, temperature=0, stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Say hello."}]):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(parts) == reply.choices[0].message.content, "greedy: the same text streamed"
    assert usage.completion_tokens == 8


def test_openai_completions_plain_and_streamed(oa):
    done = oa.completions.create(model="answer_generation", prompt="Say hello.", max_tokens=6, temperature=0)
    assert done.object == "text_completion" and done.choices[0].text
    assert done.usage.completion_tokens == 6 and done.choices[0].finish_reason == "length"
    pieces = [c.choices[0].text for c in oa.completions.create(model="answer_generation", prompt="Say hello.",
                                                               max_tokens=6, stream=True) if c.choices]
    assert "".join(pieces)
    with pytest.raises(openai.BadRequestError):
        oa.completions.create(model="answer_generation", prompt="Say hello.", suffix="Goodbye.")


def test_openai_json_schema_output_follows_the_schema(oa):
    schema = {"type": "object", "properties": {"intent": {"type": "string", "enum": ["VECTOR", "GRAPH", "HYBRID"]}},
              "required": ["intent"], "additionalProperties": False}
    reply = oa.chat.completions.create(
        model="intent_classification", max_tokens=48, temperature=0,
        messages=[{"role": "user", "content": "Which retrieval fits: who reports to whom?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "intent", "schema": schema}})
    value = json.loads(reply.choices[0].message.content)
    assert value["intent"] in ("VECTOR", "GRAPH", "HYBRID")


def test_an_image_through_image_url_and_through_ollama_generate(server, oa, ol, tmp_path):
    data = base64.b64encode(image_path().read_bytes()).decode()
    reply = oa.chat.completions.create(model="vision_vlm", max_tokens=8, temperature=0, messages=[{
        "role": "user", "content": [{"type": "text", "text": "Describe this image."},
                                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]}])
    assert reply.choices[0].message.content
    assert reply.model_extra["switchboard"]["image_tokens"] > 0, "the image took positions in the context"

    answer = ol.generate(model="vision_vlm", prompt="Describe this image.", images=[str(image_path())],
                         options={"num_predict": 8, "temperature": 0})
    assert answer.response and answer.done and answer.eval_count == 8
    # Both are in the ledger with their image, under the client's token.
    out = tmp_path / "vision.jsonl"
    cli(server.data, "costs", "export", "--out", str(out), "--format", "jsonl", "--use-case", "vision_vlm")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2, rows
    assert all(r["image_count"] == 1 and r["image_tokens"] > 0 and r["caller"] == "token:py-client" for r in rows), rows


def test_an_image_by_url_is_fetched_within_the_body_limit(server, oa, tmp_path):
    """`serve --fetch-image-urls`: an http image URL is fetched; what cannot be fetched, or is
    larger than the body limit (2 MiB here) alone or together, is refused by name."""
    shutil.copy(image_path(), tmp_path / "photo.png")
    (tmp_path / "big.png").write_bytes(b"\0" * (3 << 20))
    (tmp_path / "half.png").write_bytes(b"\0" * (1536 << 10))
    files = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietFiles, directory=str(tmp_path)))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{files.server_address[1]}"

    def ask(*urls):
        content = [{"type": "text", "text": "Describe this image."}]
        content += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
        return oa.chat.completions.create(model="vision_vlm", max_tokens=4, temperature=0,
                                          messages=[{"role": "user", "content": content}])

    try:
        reply = ask(f"{base}/photo.png")
        assert reply.choices[0].message.content
        assert reply.model_extra["switchboard"]["image_tokens"] > 0
        for urls, says in [
            ([f"{base}/missing.png"], "image 1: fetching it answered 404"),
            ([f"{base}/big.png"], "image 1: it is larger than 2 MiB"),
            ([f"{base}/half.png", f"{base}/half.png"], "image 2: the images this request fetches come to more than 2 MiB"),
            (["http://127.0.0.1:9/nothing-listens.png"], "image 1: could not fetch it"),
        ]:
            with pytest.raises(openai.BadRequestError) as refused:
                ask(*urls)
            assert says in refused.value.message, refused.value.message
    finally:
        files.shutdown()


def test_embeddings_from_both_clients(oa, ol):
    out = oa.embeddings.create(model="local/gemma-embed", input=["The cat sat on the mat.", "Revenue rose."])
    assert len(out.data) == 2 and len(out.data[0].embedding) == 640
    norm = sum(x * x for x in out.data[0].embedding) ** 0.5
    assert abs(norm - 1.0) < 1e-3
    floats = oa.embeddings.create(model="local/gemma-embed", input="The cat sat on the mat.", encoding_format="float")
    assert max(abs(a - b) for a, b in zip(floats.data[0].embedding, out.data[0].embedding)) < 1e-4
    got = ol.embed(model="local/gemma-embed", input=["The cat sat on the mat."])
    assert len(got.embeddings) == 1 and len(got.embeddings[0]) == 640


def test_ollama_chat_streams_and_lists(ol):
    names = [m.model for m in ol.list().models]
    assert "answer_generation" in names
    chunks = list(ol.chat(model="answer_generation", stream=True, options={"num_predict": 6, "temperature": 0},
                          messages=[{"role": "user", "content": "Say hello."}]))
    assert chunks[-1].done and chunks[-1].eval_count == 6
    assert "".join(c.message.content for c in chunks)
    shaped = ol.chat(model="answer_generation", format="json", options={"num_predict": 24, "temperature": 0},
                     messages=[{"role": "user", "content": "A JSON object with a key named a."}])
    assert shaped.message.content.lstrip().startswith("{")


def test_clients_look_up_a_model_and_see_what_is_loaded(oa, ol):
    assert oa.models.retrieve("answer_generation").id == "answer_generation"
    assert oa.models.retrieve("local/gemma-3-270m-q4_k_m").owned_by == "local"
    with pytest.raises(openai.NotFoundError):
        oa.models.retrieve("no_such_thing")
    shown = ol.show("answer_generation")
    assert shown.details.family == "gemma3" and shown.details.quantization_level == "Q4_K_M"
    assert shown.modelinfo["gemma3.context_length"] == 32768
    assert shown.capabilities == ["completion"] and "temperature" in shown.parameters
    assert "vision" in ol.show("vision_vlm").capabilities
    with pytest.raises(ollama.ResponseError) as missing:
        ol.show("no_such_thing")
    assert missing.value.status_code == 404
    assert ol.generate(model="answer_generation", keep_alive=0).done_reason == "unload"
    assert "local/gemma-3-270m-q4_k_m" not in [m.model for m in ol.ps().models]
    assert ol.generate(model="answer_generation").done_reason == "load"
    loaded = {m.model: m for m in ol.ps().models}
    assert "local/gemma-3-270m-q4_k_m" in loaded, loaded
    assert loaded["local/gemma-3-270m-q4_k_m"].size > 100_000_000
    assert loaded["local/gemma-3-270m-q4_k_m"].context_length > 0


def test_a_use_case_falls_over_to_the_fake_cloud_provider(oa):
    reply = oa.chat.completions.create(model="query_decomposition", max_tokens=32,
                                       messages=[{"role": "user", "content": "Split: what and why?"}])
    assert reply.choices[0].message.content == "Fallback answer from the fake cloud."
    route = reply.model_extra["switchboard"]["route"]
    assert [a["candidate"] for a in route] == ["local/gone", "fake/fake-model"]
    assert route[0]["outcome"] == "skipped" and route[1]["outcome"] == "answered"


def test_a_wrong_token_a_too_large_body_and_a_wrong_host_are_refused(server, oa):
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="sb-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(ollama.ResponseError) as refused:
        ollama.Client(host=server.url, headers={"Authorization": "Bearer sb-wrong"}).list()
    assert refused.value.status_code == 401
    with pytest.raises(openai.APIStatusError) as too_large:
        oa.chat.completions.create(model="answer_generation", messages=[{"role": "user", "content": "x" * 3_000_000}])
    assert too_large.value.status_code == 413
    tool = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(openai.BadRequestError) as tools:
        oa.chat.completions.create(model="answer_generation", tools=[tool],
                                   messages=[{"role": "user", "content": "Weather?"}])
    assert "tool calling is not offered" in str(tools.value)
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", "/v1/models", headers={"Host": "rebind.attacker.example", "Authorization": f"Bearer {server.token}"})
    response = conn.getresponse()
    assert response.status == 403 and b"Host header" in response.read()


def test_the_readme_curl_examples_run(server):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- api-examples -->(.*?)<!-- /api-examples -->", readme, re.S)
    assert block, "the README's API examples are marked"
    scripts = re.findall(r"```sh\n(.*?)```", block.group(1), re.S)
    assert len(scripts) >= 4
    env = {**os.environ, "SWITCHBOARD_URL": server.url, "SWITCHBOARD_TOKEN": server.token,
           "SWITCHBOARD_ADMIN_TOKEN": server.admin, "IMAGE": str(image_path())}
    for script in scripts:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        assert done.stdout.strip(), script
