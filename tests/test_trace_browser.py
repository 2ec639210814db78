"""The HTML viewer in a real headless Chromium (Debian's `chromium`, driven by Playwright):
it opens from a file with no network, steps with the buttons and the arrow keys, shows
the server table with the changed cells, and marks the violating step."""

import shutil

import pytest

from checks.trace.html import write_html
from tests.test_trace_render import network_trace, violation_trace

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium browser here (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(offline=True)  # the page must need no network
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def cell(page, server, column):
    return page.text_content(f'#servers tr[data-server="{server}"] td[data-column="{column}"]')


def changed_cells(page):
    return page.eval_on_selector_all(
        "#servers td.changed", "cells => cells.map(c => c.parentElement.dataset.server"
        " + ':' + c.dataset.column)",
    )  # fmt: skip


def test_viewer_steps_and_shows_the_violation(page, tmp_path):
    path = write_html(violation_trace(), tmp_path / "two-leaders.html")
    page.goto(path.as_uri())
    assert page.text_content("#step-index") == "0"
    assert page.text_content("#action") == "init"
    assert cell(page, "1", "role") == "Follower"
    assert not page.is_visible("#violation-marker")
    assert page.is_disabled("#prev")

    page.click("#next")
    assert page.text_content("#step-index") == "1"
    assert page.text_content("#action") == "Timeout(1)"
    assert cell(page, "1", "role") == "Leader"
    assert cell(page, "1", "term") == "2"
    assert "1:role" in changed_cells(page) and "2:role" not in changed_cells(page)

    page.keyboard.press("ArrowRight")
    assert page.text_content("#step-index") == "2"
    assert cell(page, "2", "role") == "Leader"
    assert page.is_visible("#violation-marker")
    assert "ElectionSafety is violated at this step" in page.text_content("#violation-marker")
    assert page.is_disabled("#next")
    assert "violation" in page.get_attribute("#timeline li:nth-child(3)", "class")

    page.keyboard.press("ArrowLeft")
    assert page.text_content("#step-index") == "1"
    assert not page.is_visible("#violation-marker")
    page.click("#goto-violation")
    assert page.text_content("#step-index") == "2"
    assert "ElectionSafety" in page.text_content("#property")


def test_viewer_lists_the_messages_in_flight(page, tmp_path):
    path = write_html(network_trace(), tmp_path / "network.html")
    page.goto(path.as_uri())
    page.click("#next")
    assert page.text_content("#message-count") == "2"
    messages = page.eval_on_selector_all("#messages li", "items => items.map(i => i.textContent)")
    assert [m.split(" t")[0] for m in messages] == ["RequestVote 1->2", "RequestVote 1->3"]
    assert page.eval_on_selector_all("#messages li.changed", "items => items.length") == 2
    page.click("#next")  # a duplicate: the copy count changes, the other request does not
    new = page.eval_on_selector_all(
        "#messages li.changed", "items => items.map(i => i.textContent)"
    )
    assert [m.split(" t")[0] for m in new] == ["RequestVote 1->2"]
    page.click("#last")
    assert page.text_content("#step-index") == "5"
    assert page.is_hidden("#goto-violation")  # a scenario trace: nothing violated
