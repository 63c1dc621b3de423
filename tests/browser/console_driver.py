"""Driving the console in headless Chromium (Selenium with Debian's `chromium` and `chromium-driver`):
explicit waits for what a page shows, Element Plus's inputs, screenshots, and the browser's console
errors."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 15
DESKTOP = (1280, 800)
# Injected into every page: no CSS transitions or animations, so dialogs, menus and message boxes
# open and close at once (Vue ends a transition of zero duration on the next frame).
NO_ANIMATIONS = """document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
  document.head.append(style);
});"""
# The displayed elements matching a selector whose rendered text contains a string.
FIND_VISIBLE = """const [css, text] = arguments;
return [...document.querySelectorAll(css)].filter((e) => e.getClientRects().length && e.innerText.includes(text));"""
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN",
                  "--disable-extensions", "--no-first-run", f"--window-size={DESKTOP[0]},{DESKTOP[1]}")


def start_chromium() -> webdriver.Chrome:
    """A headless Chromium with its console log kept; fails clearly when the Debian packages are missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        raise RuntimeError("chromium and chromedriver are missing: `make test` installs them "
                           "(apt-get install chromium chromium-driver fonts-wqy-microhei)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(driver))
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_ANIMATIONS})
    return browser


class Console:
    """The console at `url` in one browser: open a page, wait for text, fill Element Plus inputs."""

    def __init__(self, browser: webdriver.Chrome, url: str, screenshots: Path) -> None:
        self.browser = browser
        self.url = url.rstrip("/")
        self.screenshots = screenshots

    # -- navigation and waits ---------------------------------------------------------------------

    def open(self, route: str) -> None:
        """Go to `#<route>`: the router's navigation once the console is loaded, else a full load."""
        if self.browser.current_url.startswith(self.url):
            self.browser.execute_script("location.hash = arguments[0]", route)
        else:
            self.browser.get(f"{self.url}/#{route}")

    def wait(self, condition: Callable[[], Any], what: str) -> Any:
        """Wait until `condition()` is truthy (stale elements mean "not yet"); its value."""
        def attempt(_: Any) -> Any:
            try:
                return condition()
            except StaleElementReferenceException:
                return None
        return WebDriverWait(self.browser, WAIT_SECONDS, poll_frequency=0.1).until(attempt, f"waiting for {what}")

    def visible(self, css: str, text: str = "") -> list[WebElement]:
        """The displayed elements matching `css` whose text contains `text` (one round trip)."""
        return list(self.browser.execute_script(FIND_VISIBLE, css, text))

    def element(self, css: str, text: str = "") -> WebElement:
        """Wait for a displayed element matching `css` whose text contains `text`."""
        return self.wait(lambda: next(iter(self.visible(css, text)), None), f"{css} with {text!r}")

    def text_of(self, css: str, text: str) -> str:
        """Wait until an element matching `css` shows `text`; the element's whole text."""
        return str(self.element(css, text).text)

    def gone(self, css: str, text: str = "") -> None:
        """Wait until no displayed element matching `css` contains `text`."""
        self.wait(lambda: not self.visible(css, text), f"{css} with {text!r} to go")

    def row(self, table_css: str, text: str) -> WebElement:
        """The table row (of the table matching `table_css`) that contains `text`."""
        return self.element(f"{table_css} .el-table__body tr", text)

    # -- input --------------------------------------------------------------------------------------

    def click(self, css: str, text: str = "") -> None:
        """Click the displayed element matching `css` whose text contains `text`."""
        self.wait(lambda: self._click(self.element(css, text)), f"a clickable {css} with {text!r}")

    @staticmethod
    def _click(element: WebElement) -> bool:
        if not element.is_enabled():
            return False
        element.click()
        return True

    def button(self, text: str, within: str = "") -> None:
        """Click the displayed button labelled `text` (inside `within`, a CSS selector, if given)."""
        self.click(f"{within} button".strip(), text)

    def type(self, css: str, value: str) -> None:
        """Replace the value of the input matching `css` and leave it (Element Plus commits on blur)."""
        field = self.element(css)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACK_SPACE)
        field.send_keys(value, Keys.TAB)

    def field(self, path: str, value: str, within: str = "") -> None:
        """Type `value` into the input of the form field at the API path `path`."""
        self.type(f"{within} [data-field='{path}'] input, {within} [data-field='{path}'] textarea".strip(), value)

    def choose(self, select_css: str, option: str) -> None:
        """Open the Element Plus select matching `select_css` and pick the option whose text contains `option`."""
        self.click(f"{select_css} .el-select__wrapper")
        self.click(".el-select-dropdown__item", option)

    def confirm(self, button: str) -> None:
        """Press `button` in the message box that is open."""
        self.button(button, ".el-message-box")
        self.gone(".el-message-box")

    # -- records ------------------------------------------------------------------------------------

    def screenshot(self, name: str) -> None:
        """Save the window as `<name>.png` beside the test output."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.browser.save_screenshot(str(self.screenshots / f"{name}.png"))

    def console_errors(self, allowed_statuses: set[int]) -> list[str]:
        """Console errors since the last call, except failed responses of `allowed_statuses` (a refusal
        the test provoked, which Chromium logs as a failed resource)."""
        errors = [e["message"] for e in self.browser.get_log("browser") if e["level"] == "SEVERE"]
        allowed = tuple(f"status of {status} " for status in allowed_statuses)
        return [m for m in errors if not (_is_failed_response(m) and any(a in m for a in allowed))]


def _is_failed_response(message: str) -> bool:
    """True for Chromium's "Failed to load resource" line of an HTTP error answer."""
    return "Failed to load resource: the server responded with a status of" in message
