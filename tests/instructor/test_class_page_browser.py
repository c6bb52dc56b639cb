"""The class page in a real browser: no request leaves the file, and axe-core finds no serious or
critical accessibility problem in the light or the dark scheme; print styles apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutornb.cli import main

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.browser
def test_class_page_is_offline_and_accessible(exchange: Path, tmp_path: Path, chromium_path: str) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm install)")
    from playwright.sync_api import sync_playwright

    out = tmp_path / "class"
    assert main(["class-report", str(exchange), "-o", str(out), "--quiet"]) == 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        try:
            for scheme in ("light", "dark"):
                # axe is injected past the page's own CSP (which forbids every script)
                context = browser.new_context(color_scheme=scheme, bypass_csp=True)
                page = context.new_page()
                requests: list[str] = []
                page.on("request", lambda request, seen=requests: seen.append(request.url))
                page.goto((out / "index.html").as_uri())
                assert requests == [(out / "index.html").as_uri()]
                assert page.locator("svg.plot").count() == 3
                page.add_script_tag(path=str(AXE))
                result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
                serious = [
                    (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                    for v in result["violations"]
                    if v["impact"] in ("serious", "critical")
                ]
                assert serious == [], json.dumps(serious)
                context.close()
            page = browser.new_page(color_scheme="dark")
            page.goto((out / "index.html").as_uri())
            page.emulate_media(media="print")
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
        finally:
            browser.close()
