"""Fixtures for the near-duplicate tests: generated text and a real Redis.

Text is made here from random pseudo-words (never from a real corpus), with
a seeded generator so that every run sees the same data.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

_LETTERS = list("etaoinshrdlcumwfgypbvk")


class Words:
    """Pseudo-English: a fixed vocabulary drawn with Zipf-like frequencies."""

    def __init__(self, seed: int = 0, vocab: int = 5000):
        self.rng = np.random.default_rng(seed)
        self.vocab = ["".join(self.rng.choice(_LETTERS, int(n))) for n in self.rng.integers(2, 9, vocab)]
        weights = 1.0 / np.arange(1, vocab + 1)
        self.p = weights / weights.sum()

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(self.vocab, words, p=self.p))

    def edit(self, text: str, rate: float) -> str:
        """Drop, insert or swap `rate` of the words."""
        words = text.split()
        for _ in range(round(rate * len(words))):
            i = int(self.rng.integers(len(words)))
            op = self.rng.random()
            if op < 1 / 3 and len(words) > 1:
                del words[i]
            elif op < 2 / 3:
                words.insert(i, str(self.rng.choice(self.vocab)))
            elif i + 1 < len(words):
                words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)


@pytest.fixture
def words() -> Words:
    return Words()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- a real redis-server on loopback -------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server on 127.0.0.1 (installed by scripts/system-deps.sh)."""
    exe = shutil.which("redis-server")
    if exe is None:
        message = "redis-server is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    workdir = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    import redis

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        try:
            if redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5).ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start within 15 s")
