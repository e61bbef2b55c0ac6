"""Feeds and Mastodon polled by a real worker's leader timer from local servers; health via CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from monitor.storage.models import DeadLetter, Mention, SourceHealth
from tests.conftest import REPO, service_env, unique_namespace, wait_until
from tests.fake_servers import FakeMastodon, feed_routes, serve
from tests.integration.helpers import engine_for, mention_count


def test_feeds_are_polled_once_per_interval_conditionally_and_report_health(
    database_url, tansu, start_worker, tmp_path: Path
):
    with serve(feed_routes) as (url, recorded):
        config = tmp_path / "config"
        config.mkdir()
        shutil.copy(REPO / "config" / "detection.yaml", config / "detection.yaml")
        (config / "sources.yaml").write_text(
            "sources:\n"
            f"  - {{name: news, kind: feed, url: '{url}/feeds/news_synthetic.rss',"
            " interval_seconds: 5}\n"
            f"  - {{name: status, kind: feed,"
            f" url: '{url}/feeds/statuspage_history_synthetic.atom'}}\n"
            f"  - {{name: moved, kind: feed, url: '{url}/feeds/malformed_html_redirect_page.rss',"
            " interval_seconds: 5}\n"
            f"  - {{name: cut, kind: feed, url: '{url}/feeds/malformed_incomplete_cdata.rss'}}\n"
        )
        env = service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=unique_namespace(),
            slack=None,
        )
        env["CRISISMON_CONFIG_DIR"] = str(config)
        start_worker(env)
        engine = engine_for(database_url)

        wait_until(lambda: mention_count(engine) == 5, 30, "five feed entries stored")
        # The news feed is polled again after its 5 s interval, conditionally: 304, nothing new.
        wait_until(lambda: len(recorded.to("/feeds/news_synthetic.rss")) >= 2, 30, "a re-poll")
        again = recorded.to("/feeds/news_synthetic.rss")[1]["headers"]
        assert "If-None-Match" in again and "If-Modified-Since" in again

        def health() -> dict[str, SourceHealth]:
            with Session(engine) as session:
                return {h.source: h for h in session.exec(select(SourceHealth))}

        wait_until(lambda: set(health()) == {"news", "status", "moved", "cut"}, 30, "health")
        rows = health()
        assert rows["news"].items_seen == 2 and rows["status"].items_seen == 3
        assert rows["moved"].consecutive_failures >= 1
        assert rows["moved"].last_error.startswith("not an RSS or Atom feed")
        assert rows["cut"].consecutive_failures == 0
        assert rows["cut"].last_error.startswith("malformed feed")
        # A failing feed backs off: at most one more attempt in the next few seconds.
        assert len(recorded.to("/feeds/malformed_html_redirect_page.rss")) <= 2

        def letters() -> list[DeadLetter]:
            with Session(engine) as session:
                return list(session.exec(select(DeadLetter)))

        wait_until(lambda: len(letters()) == 2, 30, "two dead letters")
        reasons = sorted(letter.reason for letter in letters())
        assert reasons[0] == "feed cut: feed entry has no title or text"
        assert reasons[1].startswith("feed moved: not an RSS or Atom feed")
        assert any("Document Moved" in letter.payload for letter in letters())

        with Session(engine) as session:
            stored = session.exec(select(Mention).where(Mention.source == "news")).all()
        assert len(stored) == 2  # polled twice, stored once

        shown = subprocess.run(
            [sys.executable, "-m", "monitor", "sources"],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    assert shown.returncode == 1, shown.stderr  # a failing source makes it a failed check
    out = shown.stdout
    assert "news" in out and "ok" in out and "failing" in out
    assert "not an RSS or Atom feed" in out
    assert "malformed feed" in out


def test_mastodon_posts_are_polled_by_the_worker_and_new_ones_follow(
    tansu, start_worker, tmp_path: Path
):
    fake = FakeMastodon()
    fake.post("Checkout broken again #examplecloud", tags=("examplecloud",))
    with serve(fake.routes) as (url, recorded):
        config = tmp_path / "config"
        config.mkdir()
        shutil.copy(REPO / "config" / "detection.yaml", config / "detection.yaml")
        (config / "sources.yaml").write_text(
            "sources:\n"
            f"  - {{name: mastodon, kind: mastodon, instance: '{url}',"
            " hashtags: ['#examplecloud'], interval_seconds: 5}\n"
        )
        database_url = f"sqlite:///{tmp_path / 'mastodon.db'}"
        env = service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=unique_namespace(),
            slack=None,
        )
        env["CRISISMON_CONFIG_DIR"] = str(config)
        start_worker(env)
        engine = engine_for(database_url)
        wait_until(lambda: mention_count(engine) == 1, 30, "the first post")
        fake.post("Still down, day two #examplecloud", tags=("examplecloud",))
        wait_until(lambda: mention_count(engine) == 2, 30, "the new post on the next poll")
        later = [r for r in recorded.requests if "since_id" in r["query"]]
        assert later, "the second poll asks only for posts newer than the first"
        with Session(engine) as session:
            stored = session.exec(select(Mention).order_by(Mention.external_id)).all()
            health = session.get(SourceHealth, "mastodon")
        assert [m.network for m in stored] == ["mastodon", "mastodon"]
        assert all(m.author and m.author.startswith("psn:") for m in stored)
        assert health is not None and health.items_seen == 2 and health.cursor
