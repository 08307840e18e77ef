"""L1's simulated users for locust (run by tests/prod/test_load_l1.py against the nginx of the
production-topology smoke): browse the board, list songs, read waveform peaks, Range-read the
audio, post comments; and the trivial peer, /healthz, served the same way (nginx, TLS, Daphne).

Tagged `peer` (the trivial view alone) and `studio` (the mix, with the trivial view inside it so
its p95 is measured under the same load). Everything it needs comes from L1_* variables."""

from __future__ import annotations

import itertools
import os

from locust import HttpUser, between, tag, task

TOKEN = os.environ.get("L1_TOKEN", "")
PROJECT = os.environ.get("L1_PROJECT", "")
ASSET = os.environ.get("L1_ASSET", "")
MIX = os.environ.get("L1_MIX", "")
SESSION = os.environ.get("L1_SESSION", "")
_comments = itertools.count(1)


class TeamMember(HttpUser):
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.client.verify = os.environ.get("L1_CERT", True)
        self.api = {"Authorization": f"Token {TOKEN}"}

    @tag("peer", "studio")
    @task(2)
    def trivial(self) -> None:
        self.client.get("/healthz", name="trivial /healthz")

    @tag("studio")
    @task(2)
    def board(self) -> None:
        self.client.get(f"/p/{PROJECT}/board/", headers={"Cookie": f"sessionid={SESSION}"},
                        name="board page")  # fmt: skip

    @tag("studio")
    @task(2)
    def songs(self) -> None:
        self.client.get(f"/api/songs/?project={PROJECT}", headers=self.api, name="song list")

    @tag("studio")
    @task(2)
    def peaks(self) -> None:
        self.client.get(f"/api/assets/{ASSET}/peaks/?width=800", headers=self.api, name="peaks")

    @tag("studio")
    @task(2)
    def audio_range(self) -> None:
        with self.client.get(
            f"/api/assets/{ASSET}/file/?disposition=inline",
            headers={**self.api, "Range": "bytes=4096-69631"},
            name="audio Range",
            catch_response=True,
        ) as response:
            if response.status_code != 206 or len(response.content) != 65536:
                response.failure(f"{response.status_code}, {len(response.content)} bytes")

    @tag("studio")
    @task(1)
    def comment(self) -> None:
        n = next(_comments)
        with self.client.post(
            "/api/comments/",
            json={"mix": int(MIX), "body": f"load {n}", "start_s": n % 20},
            headers=self.api,
            name="post comment",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
