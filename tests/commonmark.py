"""Checks that a Markdown document renders as meant under CommonMark (markdown-it-py's
reference implementation): every line meant as a heading is one, every fold is closed, and no
HTML block swallows what follows it."""

from __future__ import annotations

from markdown_it import MarkdownIt


def check(text: str) -> list[str]:
    """Every way ``text`` does not render as its lines say (empty: it renders right)."""
    tokens = MarkdownIt("commonmark").parse(text)
    lines = text.splitlines()
    problems: list[str] = []
    fenced: set[int] = set()
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map:
            fenced.update(range(*token.map))
    headings = {token.map[0] for token in tokens if token.type == "heading_open" and token.map}
    meant = {number for number, line in enumerate(lines) if line.startswith("#") and number not in fenced}
    for number in sorted(meant - headings):
        problems.append(f"line {number + 1} is not rendered as a heading: {lines[number]!r}")
    opened = closed = 0
    for token in tokens:
        if token.type != "html_block":
            continue
        opened += token.content.count("<details")
        closed += token.content.count("</details>")
        for line in token.content.splitlines():
            if line.startswith(("#", "```", "|", "- ", "> ")):
                problems.append(f"an HTML block swallows the line {line!r}")
    if opened != closed:
        problems.append(f"{opened} <details> opened, {closed} closed")
    for token in tokens:
        if token.type == "fence" and token.info not in ("", "diff", "mermaid", "text", "yaml", "json"):
            problems.append(f"a fence says {token.info!r}")
    return problems
