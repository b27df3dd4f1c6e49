"""Screens reuse their widgets: a kiosk that runs for weeks builds its rows once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

# In a child process: Kivy set up in the test run's own process would take over its
# logging. No window is needed to build widgets and lay them out in containers.
SESSIONS = textwrap.dedent(
    """
    import json
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.widget import Widget
    from kiosk.screens.widgets import reconcile

    class Row(Widget):
        pass

    class Heading(Widget):
        pass

    built = []

    def make(spec):
        widget = (Heading if spec.startswith("#") else Row)()
        widget.spec = spec
        built.append(widget)
        return widget

    def update(widget, spec):
        if isinstance(widget, Heading) != spec.startswith("#"):
            return False
        widget.spec = spec
        return True

    container = BoxLayout()
    shown = []
    for session in range(50):
        # a patron borrows three items one by one, then the next one comes
        for count in range(1, 4):
            reconcile(container, [f"item {session}.{n}" for n in range(count)], make, update)
        shown.append([child.spec for child in reversed(container.children)])
        reconcile(container, [], make, update)
        reconcile(container, ["#Loans", f"loan {session}"], make, update)
        shown.append([child.spec for child in reversed(container.children)])
        reconcile(container, [], make, update)
    print(json.dumps({"built": len(built), "first": shown[0], "last": shown[-2:]}))
    """
)


def test_fifty_patrons_rows_are_built_once_and_each_screen_shows_its_own() -> None:
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1"}
    run = subprocess.run(
        [sys.executable, "-c", SESSIONS], capture_output=True, text=True, env=env, check=True
    )
    result = json.loads(run.stdout.splitlines()[-1])
    # Three rows and one heading at most are on screen at once: that is all ever built.
    assert result["built"] == 4
    assert result["first"] == ["item 0.0", "item 0.1", "item 0.2"]
    assert result["last"] == [["item 49.0", "item 49.1", "item 49.2"], ["#Loans", "loan 49"]]
