"""Mermaid's own parser (the npm ``mermaid`` package, run by Node with jsdom standing in for a
browser), installed once into the Directus cache from the npm registry."""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from pathlib import Path

from directus_server import cache_root

MERMAID = "11.17.2"
JSDOM = "29.1.1"

_SCRIPT = """
import { JSDOM } from "jsdom";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
let input = "";
for await (const chunk of process.stdin) input += chunk;
try {
  const result = await mermaid.parse(input);
  console.log(JSON.stringify({ ok: true, type: result.diagramType }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error.message || error) }));
}
"""


class Unavailable(RuntimeError):
    pass


def _install() -> Path:
    folder = cache_root() / f"mermaid-{MERMAID}"
    script = folder / "parse.mjs"
    if script.exists():
        return script
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Unavailable("node and npm are needed to run Mermaid's parser")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f"mermaid-{MERMAID}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if script.exists():
            return script
        (folder / "package.json").write_text('{"name": "mermaid-parser", "private": true, "type": "module"}\n')
        subprocess.run(
            [npm, "install", f"mermaid@{MERMAID}", f"jsdom@{JSDOM}", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=900,
        )
        tmp = folder / ".parse.mjs.tmp"
        tmp.write_text(_SCRIPT)
        tmp.replace(script)
    return script


def parse(diagram: str) -> dict[str, object]:
    """Mermaid's verdict on ``diagram``: ``{"ok": True, "type": "er"}`` or ``{"ok": False, "error": …}``."""
    script = _install()
    done = subprocess.run(
        ["node", str(script)], input=diagram, capture_output=True, text=True, timeout=180, cwd=script.parent
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise Unavailable(f"the parser did not run: {done.stderr.strip()[-500:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def blocks(markdown: str) -> list[str]:
    """The ```mermaid blocks of a Markdown document."""
    return re.findall(r"```mermaid\n(.*?)```", markdown, re.DOTALL)
