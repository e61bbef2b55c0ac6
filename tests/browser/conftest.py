"""One service for the whole browser module (tests/browser/service.py) and one chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.browser.browser import chromium
from tests.browser.service import WebService, running_service


@pytest.fixture(scope="module")
def web_service(tansu: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebService]:
    with running_service(tansu, tmp_path_factory.mktemp("browser")) as service:
        yield service


@pytest.fixture(scope="module")
def browser(web_service: WebService) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
