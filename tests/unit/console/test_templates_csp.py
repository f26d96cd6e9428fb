"""issue 9 item 9: the console's strict Content-Security-Policy (no inline code, no eval) holds for its pages.

A browser silently drops what the policy forbids, so every template and script is checked here; the browser
tests (tests/e2e/test_console.py) then run the pages under the policy."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sales.console.web import HERE

TEMPLATES = sorted((HERE / "templates").glob("*.html"))
FORBIDDEN_IN_TEMPLATES = {
    "inline style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style", re.I),
    "inline event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "htmx inline handler": re.compile(r"hx-on", re.I),
    "htmx evaluated trigger filter": re.compile(r"hx-trigger\s*=\s*\"[^\"]*\["),
    "htmx evaluated values": re.compile(r"hx-(vals|vars)\s*=\s*['\"]\s*(js:|javascript:)", re.I),
}
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_template_has_no_inline_code_or_styles(template: Path) -> None:
    html = template.read_text()
    found = [what for what, pattern in FORBIDDEN_IN_TEMPLATES.items() if pattern.search(html)]
    assert found == [], f"{template.name}: {found}"
    for attributes in SCRIPT_TAG.findall(html):
        assert "src=" in attributes or 'type="application/json"' in attributes, (template.name, attributes)


def test_console_script_does_not_evaluate_strings() -> None:
    script = (HERE / "static" / "console.js").read_text()
    assert not re.search(r"\beval\s*\(|new Function|setTimeout\s*\(\s*['\"]|setInterval\s*\(\s*['\"]", script)


def test_htmx_is_told_not_to_evaluate_or_inject_styles() -> None:
    base = (HERE / "templates" / "base.html").read_text()
    assert '"allowEval":false' in base and '"includeIndicatorStyles":false' in base
