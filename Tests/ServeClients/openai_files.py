"""Uploads an image to `qwen-agent serve` with the official openai package and asks about it by file id.

Usage: openai_files.py BASE_URL MODEL IMAGE.png PROMPT MAX_TOKENS TOO_LARGE_FILE
Prints one JSON object: the upload, the replies by file id and by data URL (greedy, so they must
agree), the listing, what an unknown id and an oversized upload got, and the deletion.
"""
import base64
import json
import sys

import openai
from openai import OpenAI

base, model, image_path, prompt, max_tokens, too_large = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
client = OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=120)


def ask(image_part):
    reply = client.chat.completions.create(model=model, temperature=0, max_tokens=max_tokens,
                                           messages=[{"role": "user", "content": [image_part, {"type": "text", "text": prompt}]}])
    message = reply.choices[0].message
    return {"content": message.content, "reasoning": (message.model_extra or {}).get("reasoning_content"),
            "prompt_tokens": reply.usage.prompt_tokens}


def refusal(call):
    try:
        call()
    except openai.APIStatusError as error:
        return {"status": error.status_code, "message": error.body.get("message") if isinstance(error.body, dict) else str(error.body)}
    return {"status": 200}


with open(image_path, "rb") as image:
    uploaded = client.files.create(file=image, purpose="vision")
    image.seek(0)
    data_url = "data:image/png;base64," + base64.b64encode(image.read()).decode()

result = {
    "uploaded": {"id": uploaded.id, "bytes": uploaded.bytes, "purpose": uploaded.purpose, "filename": uploaded.filename},
    "retrieved": client.files.retrieve(uploaded.id).id,
    "by_file": ask({"type": "file", "file": {"file_id": uploaded.id}}),
    "by_data_url": ask({"type": "image_url", "image_url": {"url": data_url}}),
    "listed": [entry.id for entry in client.files.list()],
    "unknown_id": refusal(lambda: ask({"type": "file", "file": {"file_id": "file-nosuchupload"}})),
}
with open(too_large, "rb") as large:
    result["too_large"] = refusal(lambda: client.files.create(file=large, purpose="vision"))
result["deleted"] = client.files.delete(uploaded.id).deleted
result["after_delete"] = refusal(lambda: client.files.retrieve(uploaded.id))
result["listed_after"] = [entry.id for entry in client.files.list()]
print(json.dumps(result))
