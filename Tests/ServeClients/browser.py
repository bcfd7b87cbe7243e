"""Drives the `qwen-agent serve` page in headless Chromium, as a person would, and saves screenshots.

Usage: browser.py BASE_URL ARTIFACTS_DIR IMAGE.png
The server answers with the log-out transcript on a display showing the fixture app's home screen.
Prints one JSON object with what the page showed at each point.
"""
import json
import os
import sys
import time

import headless_chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

base, artifacts, image = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(artifacts, exist_ok=True)
driver = headless_chromium.start()
wait = WebDriverWait(driver, 90, poll_frequency=0.05)
result = {}


def by_id(name):
    return driver.find_element(By.ID, name)


def save(name):
    driver.save_screenshot(os.path.join(artifacts, name + ".png"))


# Records when reasoning first shows and when the outcome shows, and every screenshot the page loads.
WATCH = """
window.watched = {reasoningAt: null, outcomeAt: null, screenshots: [], start: performance.now()};
new MutationObserver(() => {
  if (window.watched.reasoningAt === null && document.getElementById('reasoning').textContent.trim().length > 20)
    window.watched.reasoningAt = performance.now();
}).observe(document.getElementById('reasoning'), {childList: true, characterData: true, subtree: true});
new MutationObserver(() => {
  if (window.watched.outcomeAt === null && !document.getElementById('outcome').hidden) window.watched.outcomeAt = performance.now();
}).observe(document.getElementById('outcome'), {attributes: true});
new MutationObserver(() => { window.watched.screenshots.push(document.getElementById('screenshot').src); })
  .observe(document.getElementById('screenshot'), {attributes: true, attributeFilter: ['src']});
"""

try:
    driver.get(base + "/")
    wait.until(lambda d: "scripted" in by_id("status").text)
    result["load_ms"] = driver.execute_script(
        "const t = performance.getEntriesByType('navigation')[0]; return t.domInteractive - t.startTime;")
    result["status"] = by_id("status").text

    # 1. A task runs: reasoning streams before the outcome, the screenshot changes step by step.
    driver.execute_script(WATCH)
    by_id("task").send_keys("log out of the app")
    by_id("start").click()
    wait.until(lambda d: by_id("outcome").is_displayed())
    watched = driver.execute_script("return window.watched;")
    result["run"] = {
        "outcome": by_id("outcome").text,
        "reasoning_before_outcome": watched["reasoningAt"] is not None and watched["reasoningAt"] < watched["outcomeAt"],
        "screenshots": len(set(watched["screenshots"])),
        "timeline": by_id("timeline").text.count("\n") + 1,
        "reasoning": by_id("reasoning").text[:400],
    }
    save("agent-run")

    # 2. Confirm mode: the page asks; Approve does one action; Abort ends the run.
    by_id("confirm").click()
    by_id("start").click()
    wait.until(lambda d: by_id("approval").is_displayed())
    result["approval_asked"] = by_id("approval-action").text
    save("agent-approval")
    by_id("approve").click()
    wait.until(lambda d: "answered: approve" in by_id("timeline").text)
    wait.until(lambda d: by_id("approval").is_displayed())
    by_id("abort").click()
    wait.until(lambda d: by_id("outcome").is_displayed())
    result["aborted"] = by_id("outcome").text
    save("agent-aborted")

    # 3. A second task while none runs is fine; the Sessions tab lists the runs and opens a report.
    by_id("tab-sessions").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#session-list tr")) >= 2)
    rows = driver.find_elements(By.CSS_SELECTOR, "#session-list tr")
    result["sessions"] = [row.text for row in rows]
    rows[-1].click()
    wait.until(seen.frame_to_be_available_and_switch_to_it((By.ID, "session-report")))
    wait.until(lambda d: "log out of the app" in d.find_element(By.TAG_NAME, "body").text)
    result["report_title"] = driver.execute_script("return document.title;")
    driver.switch_to.default_content()
    # Replay --dry-run of the first run from its row: the steps it would take, nothing sent.
    rows[-1].find_element(By.CSS_SELECTOR, ".dry-run-button").click()
    wait.until(lambda d: "dry run:" in by_id("dry-run").text or "would stop there" in by_id("dry-run").text
               or "replay --dry-run " + rows[-1].get_attribute("data-name") + ":" in by_id("dry-run").text)
    result["dry_run"] = by_id("dry-run").text
    save("sessions")

    # 4. Chat: upload an image, ask, watch the reply stream with the reasoning folded.
    by_id("tab-chat").click()
    result["mode_options"] = [{"value": o.get_attribute("value"), "disabled": not o.is_enabled()}
                              for o in driver.find_elements(By.CSS_SELECTOR, "#chat-mode option")]
    result["mode_hint"] = by_id("chat-mode-hint").text if by_id("chat-mode-hint").is_displayed() else ""
    by_id("chat-image").send_keys(image)
    wait.until(lambda d: by_id("chat-preview").is_displayed())
    by_id("chat-question").send_keys("Where is the avatar?")
    by_id("chat-send").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".turn.assistant .answer.done, .turn.assistant .answer.error"))
    answer = driver.find_element(By.CSS_SELECTOR, ".turn.assistant .answer")
    details = driver.find_element(By.CSS_SELECTOR, ".turn.assistant details")
    result["chat"] = {
        "answer": answer.text,
        "error": "error" in answer.get_attribute("class"),
        "reasoning_folded": details.is_displayed() and details.get_attribute("open") is None,
        "reasoning": driver.execute_script("return document.querySelector('.turn.assistant details pre').textContent;")[:200],
    }
    save("chat")
finally:
    driver.quit()
print(json.dumps(result))
