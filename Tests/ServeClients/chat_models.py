"""Drives the Chat tab's Instruct/Thinking switch in headless Chromium against a serve with two models.

Usage: chat_models.py BASE_URL ARTIFACTS_DIR
Prints one JSON object: the switch's options before and after, and for each mode which model answered
and whether reasoning was shown.
"""
import json
import os
import sys

import headless_chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base, artifacts = sys.argv[1], sys.argv[2]
os.makedirs(artifacts, exist_ok=True)
driver = headless_chromium.start()
wait = WebDriverWait(driver, 180, poll_frequency=0.05)
result = {}


def by_id(name):
    return driver.find_element(By.ID, name)


def mode_options():
    return [{"value": o.get_attribute("value"), "text": o.text, "disabled": not o.is_enabled()}
            for o in Select(by_id("chat-mode")).options]


def ask(mode, question):
    Select(by_id("chat-mode")).select_by_value(mode)
    turns = len(driver.find_elements(By.CSS_SELECTOR, ".turn.assistant"))
    by_id("chat-question").send_keys(question)
    by_id("chat-send").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn.assistant .answer.done, .turn.assistant .answer.error")) > turns)
    turn = driver.find_elements(By.CSS_SELECTOR, ".turn.assistant")[-1]
    answer = turn.find_element(By.CSS_SELECTOR, ".answer")
    return {
        "model": turn.find_element(By.CSS_SELECTOR, ".model").text,
        "error": answer.text if "error" in answer.get_attribute("class") else None,
        "reasoning_shown": turn.find_element(By.TAG_NAME, "details").is_displayed(),
    }


try:
    driver.get(base + "/")
    by_id("tab-chat").click()
    wait.until(lambda d: "·" in Select(by_id("chat-mode")).options[1].text)
    result["before"] = mode_options()
    result["hint_shown"] = by_id("chat-mode-hint").is_displayed()
    # Short replies: the tiny checkpoint's text is noise, and a debug build writes it slowly.
    driver.execute_script("for (const id of ['chat-max-tokens', 'chat-thinking']) { const s = document.getElementById(id);"
                          " s.value = 16; s.dispatchEvent(new Event('input')); }")
    result["thinking"] = ask("thinking", "What is on the screen?")
    result["instruct"] = ask("instruct", "And now?")
    wait.until(lambda d: "loads when" not in " ".join(o.text for o in Select(by_id("chat-mode")).options))
    result["after"] = mode_options()
    wait.until(lambda d: "KV cache" in by_id("status").text)
    result["status"] = by_id("status").text
    driver.save_screenshot(os.path.join(artifacts, "chat-models.png"))
finally:
    driver.quit()
print(json.dumps(result))
