# Regenerate with: python3 Fixtures/ModelOutputs/make_fixtures.py
# Writes Fixtures/ModelOutputs/*.txt and *.expected.json: model outputs and what they must parse to.
# Expected values are in screen pixels for a 1000x1000 image with relative (0-1000) coordinates,
# so x = floor(model x) for points inside the space.
import json, os
out = os.path.dirname(os.path.abspath(__file__))
os.makedirs(out, exist_ok=True)
cases = []
def case(name, text, status="ok", source=None, actions=None, shape="thinking", reason_contains=None):
    cases.append((name, text, dict(shape=shape, status=status, source=source, actions=actions, reason_contains=reason_contains)))

TC = lambda args: '<tool_call>\n{"name": "computer_use", "arguments": %s}\n</tool_call>' % json.dumps(args, ensure_ascii=False)

# --- Thinking, tool calls, every action kind
case("thinking-left-click", "The task is to open the Downloads folder. The sidebar lists Downloads at roughly x≈96, y≈318.\n</think>\n\nAction: Click \"Downloads\" in the file manager sidebar.\n" + TC({"action": "left_click", "coordinate": [96, 318]}) + "<|im_end|>",
     source="tool_calls", actions=[{"action": "left_click", "x": 96, "y": 318}])
case("thinking-type-newline", "The search box is focused.\n</think>\n\nAction: Type the query and submit it.\n" + TC({"action": "type", "text": "weather in Seoul\n"}) + "<|im_end|>",
     source="tool_calls", actions=[{"action": "type", "text": "weather in Seoul\n"}])
case("thinking-terminate-success", "The results page now shows the forecast.\n</think>\n\nAction: The task is complete.\n" + TC({"action": "terminate", "status": "success"}),
     source="tool_calls", actions=[{"action": "terminate", "terminate_status": "success"}])
case("thinking-terminate-failure", "The app keeps crashing; I cannot log out.\n</think>\n" + TC({"action": "terminate", "status": "failure"}),
     source="tool_calls", actions=[{"action": "terminate", "terminate_status": "failure"}])
case("thinking-key-chord", "Save with the shortcut.\n</think>\n\n" + TC({"action": "key", "keys": ["ctrl", "s"]}),
     source="tool_calls", actions=[{"action": "key", "keys": ["ctrl", "s"]}])
case("thinking-mouse-move", "Hover to reveal the tooltip.\n</think>\n" + TC({"action": "mouse_move", "coordinate": [500, 500]}),
     source="tool_calls", actions=[{"action": "mouse_move", "x": 500, "y": 500}])
case("thinking-right-click", "Open the context menu on the file.\n</think>\n" + TC({"action": "right_click", "coordinate": [250, 410]}),
     source="tool_calls", actions=[{"action": "right_click", "x": 250, "y": 410}])
case("thinking-middle-click", "Open the link in a new tab with the middle button.\n</think>\n" + TC({"action": "middle_click", "coordinate": [640, 222]}),
     source="tool_calls", actions=[{"action": "middle_click", "x": 640, "y": 222}])
case("thinking-double-click", "Double-click the document icon to open it.\n</think>\n" + TC({"action": "double_click", "coordinate": [120, 90]}),
     source="tool_calls", actions=[{"action": "double_click", "x": 120, "y": 90}])
case("thinking-triple-click", "Select the whole line.\n</think>\n" + TC({"action": "triple_click", "coordinate": [300, 700]}),
     source="tool_calls", actions=[{"action": "triple_click", "x": 300, "y": 700}])
case("thinking-drag", "Drag the slider to the right end.\n</think>\n" + TC({"action": "left_click_drag", "coordinate": [900, 500]}),
     source="tool_calls", actions=[{"action": "left_click_drag", "x2": 900, "y2": 500}])
case("thinking-drag-with-start", "Move the file into the folder.\n</think>\n" + TC({"action": "left_click_drag", "start_coordinate": [100, 100], "coordinate": [800, 600]}),
     source="tool_calls", actions=[{"action": "left_click_drag", "x": 100, "y": 100, "x2": 800, "y2": 600}])
case("thinking-scroll-down", "The list continues below.\n</think>\n" + TC({"action": "scroll", "pixels": -5}),
     source="tool_calls", actions=[{"action": "scroll", "amount": -5}])
case("thinking-hscroll", "The table is wider than the window.\n</think>\n" + TC({"action": "hscroll", "pixels": 3, "coordinate": [500, 400]}),
     source="tool_calls", actions=[{"action": "hscroll", "amount": 3, "x": 500, "y": 400}])
case("thinking-wait", "The page is still loading.\n</think>\n" + TC({"action": "wait", "time": 2}),
     source="tool_calls", actions=[{"action": "wait", "seconds": 2}])
case("thinking-answer", "The window title shows the version.\n</think>\n" + TC({"action": "answer", "text": "Version 2.4.1"}),
     source="tool_calls", actions=[{"action": "answer", "text": "Version 2.4.1"}])
case("thinking-mouse-down-up", "Hold the button, then release over the target.\n</think>\n" + TC({"action": "left_mouse_down"}) + "\n" + TC({"action": "mouse_move", "coordinate": [700, 300]}) + "\n" + TC({"action": "left_mouse_up"}),
     source="tool_calls", actions=[{"action": "left_mouse_down"}, {"action": "mouse_move", "x": 700, "y": 300}, {"action": "left_mouse_up"}])
case("thinking-call-user", "A CAPTCHA is shown; a person must solve it.\n</think>\n" + TC({"action": "call_user", "text": "Please solve the CAPTCHA, then say continue."}),
     source="tool_calls", actions=[{"action": "call_user", "text": "Please solve the CAPTCHA, then say continue."}])
case("thinking-multiple-calls", "Click the field, type the name, press Enter.\n</think>\n\n" + TC({"action": "left_click", "coordinate": [412, 233]}) + "\n" + TC({"action": "type", "text": "Ada Lovelace"}) + "\n" + TC({"action": "key", "keys": ["enter"]}),
     source="tool_calls", actions=[{"action": "left_click", "x": 412, "y": 233}, {"action": "type", "text": "Ada Lovelace"}, {"action": "key", "keys": ["enter"]}])
case("thinking-unterminated-last-call", "Close the dialog.\n</think>\n" + '<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["esc"]}}',
     source="tool_calls", actions=[{"action": "key", "keys": ["esc"]}])
case("thinking-leading-think-tag", "<think>\nThe OK button confirms.\n</think>\n" + TC({"action": "left_click", "coordinate": [505, 640]}),
     source="tool_calls", actions=[{"action": "left_click", "x": 505, "y": 640}])

# --- lenient JSON
case("lenient-single-quotes-trailing-comma", "Click OK.\n</think>\n<tool_call>\n{'name': 'computer_use', 'arguments': {'action': 'left_click', 'coordinate': [10, 20],},}\n</tool_call>",
     source="tool_calls", actions=[{"action": "left_click", "x": 10, "y": 20}])
case("lenient-arguments-as-string", "Type the code.\n</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": \"{\\\"action\\\": \\\"type\\\", \\\"text\\\": \\\"42\\\"}\"}\n</tool_call>",
     source="tool_calls", actions=[{"action": "type", "text": "42"}])
case("lenient-float-and-string-numbers", "Click the icon.\n</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [\"333.7\", 250.2]}}\n</tool_call>",
     source="tool_calls", actions=[{"action": "left_click", "x": 333, "y": 250}])
case("lenient-trailing-garbage", "Click.\n</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [1, 2]}} }}} oops\n</tool_call>",
     source="tool_calls", actions=[{"action": "left_click", "x": 1, "y": 2}])
case("alias-action-name", "Tap the button.\n</think>\n" + TC({"action": "click", "coordinate": [640, 360]}),
     source="tool_calls", actions=[{"action": "left_click", "x": 640, "y": 360}])

# --- Instruct shape
case("instruct-thought-action", "Thought: The search field at the top of the app is where the query goes.\nAction: \"Click the search bar at the top of the screen.\"\n" + TC({"action": "left_click", "coordinate": [502, 87]}) + "<|im_end|>",
     shape="instruct", source="tool_calls", actions=[{"action": "left_click", "x": 502, "y": 87}])
case("instruct-sentence-with-point", "Click the Log out button at (912, 40).", shape="instruct",
     source="reasoning_steps", actions=[{"action": "left_click", "x": 912, "y": 40}])

# --- Prose steps, English and Chinese
case("steps-english-numbered", "I need to log out.\n</think>\n\nStep 1: click the avatar at (950, 38) to open the menu.\nStep 2: click the Log out button at (912, 140).",
     source="reasoning_steps", actions=[{"action": "left_click", "x": 950, "y": 38}, {"action": "left_click", "x": 912, "y": 140}])
case("steps-chinese-final-answer", "思考过程 1. 头像在右上角。 2. 铅笔图标在头像的右下角，坐标约为 (873, 122)。\n</think>\n最终答案：点击头像右下角的铅笔图标 (873, 122)",
     source="reasoning_steps", actions=[{"action": "left_click", "x": 873, "y": 122}])
case("steps-chinese-type", "</think>\n第1步：点击搜索框 [500, 60]\n第2步：输入“天气预报”\n第3步：按下 Enter",
     source="reasoning_steps", actions=[{"action": "left_click", "x": 500, "y": 60}, {"action": "type", "text": "天气预报"}, {"action": "key", "keys": ["Enter"]}])
case("steps-x-equals-y-equals", "</think>\n1. Double-click the file icon at x=230, y=415.\n2. Wait 3 seconds for it to open.",
     source="reasoning_steps", actions=[{"action": "double_click", "x": 230, "y": 415}, {"action": "wait", "seconds": 3}])
case("steps-bbox-centre", "</think>\nStep 1: click the Submit button, bbox_2d [400, 700, 600, 760].",
     source="reasoning_steps", actions=[{"action": "left_click", "x": 500, "y": 730}])
case("steps-point-2d", "</think>\n1. Right-click the desktop at point_2d [300, 300] to open the menu.",
     source="reasoning_steps", actions=[{"action": "right_click", "x": 300, "y": 300}])
case("steps-in-reasoning-only", "Plan:\n1. Click the Settings gear at (975, 25).\n2. Scroll down in the panel.\n</think>\n",
     source="reasoning_steps", actions=[{"action": "left_click", "x": 975, "y": 25}, {"action": "scroll", "amount": -5}])
case("steps-kept-as-explanation", "Step 1: open the menu. Step 2: choose Log out.\n</think>\n\nStep 1: open the user menu.\nStep 2: click Log out.\n" + TC({"action": "left_click", "coordinate": [912, 40]}),
     source="tool_calls", actions=[{"action": "left_click", "x": 912, "y": 40}])

# --- Grounding and compatibility formats
case("grounding-json-fence", "</think>\n```json\n[{\"bbox_2d\": [100, 200, 300, 260], \"label\": \"Log out button\"}]\n```",
     source="grounding", actions=[{"action": "left_click", "x": 200, "y": 230, "label": "Log out button"}])
case("grounding-point-2d", "</think>\n[{\"point_2d\": [640, 480], \"label\": \"submit\"}]",
     source="grounding", actions=[{"action": "left_click", "x": 640, "y": 480}])
case("pyautogui-lines", "</think>\n```python\npyautogui.click(100, 200)\npyautogui.write('hello')\npyautogui.hotkey('ctrl', 'a')\n```",
     source="compatibility", actions=[{"action": "left_click", "x": 100, "y": 200}, {"action": "type", "text": "hello"}, {"action": "key", "keys": ["ctrl", "a"]}])
case("uitars-click-start-box", "Thought: The login button is at the bottom.\nAction: click(start_box='(512,870)')", shape="instruct",
     source="compatibility", actions=[{"action": "left_click", "x": 512, "y": 870}])
case("uitars-drag-and-type", "Action: drag(start_box='(100,100)', end_box='(400,400)')\nAction: type(content='done')", shape="instruct",
     source="compatibility", actions=[{"action": "left_click_drag", "x": 100, "y": 100, "x2": 400, "y2": 400}, {"action": "type", "text": "done"}])

# --- failures: never empty success, never terminate
case("fail-empty", "   \n  ", status="empty_output")
case("fail-unterminated-thinking", "I think the button is at (500, 500), so I will click it " + "and think more " * 50, status="unterminated_thinking")
case("fail-tool-call-only-in-reasoning", "I will do this: " + TC({"action": "left_click", "coordinate": [5, 5]}) + "\nActually let me reconsider.\n</think>\n\nI am not sure what to do.",
     status="no_action", reason_contains="only inside the reasoning")
case("fail-runaway-with-tool-call", "Let me click " + TC({"action": "left_click", "coordinate": [5, 5]}) + " and keep thinking forever", status="unterminated_thinking", reason_contains="not executed")
case("fail-malformed-json", "</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [1, 2\n</tool_call>", status="malformed_tool_call")
case("fail-garbage-json", "</think>\n<tool_call>\n%%% not json at all $$$\n</tool_call>", status="malformed_tool_call")
case("fail-unknown-action", "</think>\n" + TC({"action": "launch_rocket", "coordinate": [1, 2]}), status="unknown_action")
case("fail-missing-coordinate", "</think>\n" + TC({"action": "left_click"}), status="invalid_arguments")
case("fail-nan-coordinate", "</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [NaN, 5]}}\n</tool_call>", status="malformed_tool_call")
case("fail-huge-number", "</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [1e400, 5]}}\n</tool_call>", status="malformed_tool_call")
case("fail-out-of-range", "</think>\n" + TC({"action": "left_click", "coordinate": [1500, 200]}), status="coordinate_out_of_range")
case("fail-negative", "</think>\n" + TC({"action": "double_click", "coordinate": [-4, 200]}), status="coordinate_out_of_range")
case("fail-bad-terminate-status", "</think>\n" + TC({"action": "terminate", "status": "maybe"}), status="invalid_arguments")
case("fail-scroll-zero", "</think>\n" + TC({"action": "scroll", "pixels": 0}), status="invalid_arguments")
case("fail-prose-without-coordinates", "思考过程 1. 头像在右上角。 2. 需要点击铅笔图标。\n</think>\n最终答案：点击头像右下角的铅笔图标", status="no_action", reason_contains="no coordinate")
case("fail-control-characters", "\u0001\u0002 weird \u0007 bytes\n</think>\n\u0000\u001b[31m red \u001b[0m", status="no_action")
case("fail-100kb-reasoning-no-action", "I keep thinking about the layout. " * 3000 + "\n</think>\nI don't know.", status="no_action")
case("ok-100kb-reasoning-then-call", "Considering every element on the screen carefully. " * 2000 + "\n</think>\n" + TC({"action": "left_click", "coordinate": [77, 88]}),
     source="tool_calls", actions=[{"action": "left_click", "x": 77, "y": 88}])
case("fail-deep-nesting", "</think>\n<tool_call>\n" + "[" * 5000 + "\n</tool_call>", status="malformed_tool_call")
case("fail-only-terminate-words-no-call", "</think>\nI tried but nothing worked.", status="no_action")

for name, text, expected in cases:
    with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    expected = {k: v for k, v in expected.items() if v is not None}
    with open(os.path.join(out, name + ".expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")
print(len(cases), "cases")
