"""Drives a page in another process's QtWebEngine over the Chrome DevTools
Protocol, the way a user would: wait for the page, type, click.

The process must run with ``QTWEBENGINE_REMOTE_DEBUGGING=127.0.0.1:<port>``.
Only ``127.0.0.1`` is ever contacted. Field values (test passwords) are sent
to the page and never logged or put into an error message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import websockets

# Polling the page list and the page itself: often enough to be quick, rarely
# enough not to load a two-core machine.
_POLL_INTERVAL_S = 0.1

# Sets a field the way typing would, so pages that listen for input events
# (or wrap the value setter, as React does) see the new value.
_FILL_AND_CLICK_JS = """
(() => {
  const fields = %(fields)s;
  for (const [selector, value] of Object.entries(fields)) {
    const field = document.querySelector(selector);
    field.focus();
    const setter = Object.getOwnPropertyDescriptor(
      Object.getPrototypeOf(field), "value")?.set;
    if (setter) { setter.call(field, value); } else { field.value = value; }
    field.dispatchEvent(new Event("input", {bubbles: true}));
    field.dispatchEvent(new Event("change", {bubbles: true}));
  }
  document.querySelector(%(button)s).click();
  return true;
})()
"""

_READY_JS = """
(() => document.readyState !== "loading"
  && location.href.includes(%(url_contains)s)
  && %(selectors)s.every((selector) => document.querySelector(selector) !== null))()
"""


class DevToolsError(Exception):
    """The page could not be driven (not found in time, script failed)."""


async def fill_and_click(
    debug_port: int,
    fields: dict[str, str],
    button_selector: str,
    url_contains: str,
    timeout_s: float,
) -> None:
    """Fills form fields on a page and clicks a button.

    Waits for a page whose URL contains ``url_contains`` and in which every
    selector exists, then sets each field and clicks.

    Args:
        debug_port: the QtWebEngine remote debugging port on 127.0.0.1.
        fields: CSS selector to the value to type into that field.
        button_selector: CSS selector of the element to click.
        url_contains: a part of the page's URL that tells it apart.
        timeout_s: how long to wait for the page and its elements.

    Raises:
        DevToolsError: no such page or elements in time, or the script failed.
    """
    script = _FILL_AND_CLICK_JS % {
        "fields": json.dumps(fields),
        "button": json.dumps(button_selector),
    }
    await _run_when_ready(
        debug_port, [*fields, button_selector], script, url_contains, timeout_s
    )


async def click(
    debug_port: int, selector: str, url_contains: str, timeout_s: float
) -> None:
    """Clicks an element once the page and the element are there.

    Raises:
        DevToolsError: no such page or element in time, or the click failed.
    """
    script = f"(() => {{ document.querySelector({json.dumps(selector)}).click();"
    script += " return true; })()"
    await _run_when_ready(debug_port, [selector], script, url_contains, timeout_s)


async def _run_when_ready(
    debug_port: int,
    selectors: list[str],
    script: str,
    url_contains: str,
    timeout_s: float,
) -> None:
    ready_check = _READY_JS % {
        "url_contains": json.dumps(url_contains),
        "selectors": json.dumps(selectors),
    }
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                socket_url = await _wait_for_page(debug_port, url_contains)
                try:
                    async with websockets.connect(socket_url, max_size=None) as page:
                        await _wait_until_true(page, ready_check)
                        if await _evaluate(page, script) is not True:
                            raise DevToolsError("the script did not complete")
                        return
                except (OSError, websockets.ConnectionClosed):
                    # The page went away (navigated, closed) before it was
                    # ready: look for it again.
                    pass
                await asyncio.sleep(_POLL_INTERVAL_S)
    except TimeoutError as exc:
        raise DevToolsError(
            f"no page with {url_contains!r} in its URL and {selectors!r} in it "
            f"within {timeout_s} s"
        ) from exc


async def _wait_for_page(debug_port: int, url_contains: str) -> str:
    """Returns the DevTools WebSocket URL of the first matching page target."""
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        while True:
            try:
                response = await client.get(f"http://127.0.0.1:{debug_port}/json")
                targets = response.json()
            except (httpx.HTTPError, ValueError):
                # The debugging server starts a moment after the process.
                targets = []
            for target in targets:
                if target.get("type") == "page" and url_contains in target.get(
                    "url", ""
                ):
                    return str(target["webSocketDebuggerUrl"])
            await asyncio.sleep(_POLL_INTERVAL_S)


async def _wait_until_true(page: Any, expression: str) -> None:
    """Re-evaluates ``expression`` in the page until it is true."""
    while True:
        try:
            if await _evaluate(page, expression) is True:
                return
        except DevToolsError:
            # A navigation destroyed the context the expression ran in.
            pass
        await asyncio.sleep(_POLL_INTERVAL_S)


_message_ids = itertools.count(1)


async def _evaluate(page: Any, expression: str) -> Any:
    """Runs ``expression`` in the page and returns its JSON value."""
    message_id = next(_message_ids)
    await page.send(
        json.dumps(
            {
                "id": message_id,
                "method": "Runtime.evaluate",
                "params": {"expression": expression, "returnByValue": True},
            }
        )
    )
    while True:
        message = json.loads(await page.recv())
        if message.get("id") != message_id:
            continue  # an event, or the answer to an abandoned call
        if "error" in message:
            raise DevToolsError(f"Runtime.evaluate failed: {message['error']}")
        result = message["result"]
        if "exceptionDetails" in result:
            raise DevToolsError("the script threw an exception in the page")
        return result["result"].get("value")
