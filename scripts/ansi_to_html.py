#!/usr/bin/env python3
"""A terminal screen captured with `tmux capture-pane -e` (ANSI escapes) as an HTML page
that looks like the terminal: for screenshots of the inventory browser.

    tmux capture-pane -p -e -t SESSION | scripts/ansi_to_html.py > screen.html
"""
import html
import re
import sys

COLOURS = ["#1d2433", "#c0392b", "#1a7f37", "#b7950b", "#2f6fdd", "#8e44ad", "#1b9aaa", "#d0d4dc"]
BRIGHT = ["#5a6475", "#e74c3c", "#2ecc71", "#f1c40f", "#5b8def", "#bb6bd9", "#4fd1e0", "#ffffff"]


def style(state):
    fg, bg, bold, dim, reverse = state["fg"], state["bg"], state["bold"], state["dim"], state["reverse"]
    if reverse:
        fg, bg = (bg or "#0f1420"), (fg or "#d0d4dc")
    css = []
    if fg:
        css.append(f"color:{fg}")
    if bg:
        css.append(f"background:{bg}")
    if bold:
        css.append("font-weight:bold")
    if dim:
        css.append("opacity:0.6")
    return ";".join(css)


def apply(codes, state):
    codes = [int(c) if c else 0 for c in codes.split(";")] or [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            state.update(fg=None, bg=None, bold=False, dim=False, reverse=False)
        elif c == 1:
            state["bold"] = True
        elif c == 2:
            state["dim"] = True
        elif c == 7:
            state["reverse"] = True
        elif c in (22,):
            state["bold"] = state["dim"] = False
        elif c == 27:
            state["reverse"] = False
        elif 30 <= c <= 37:
            state["fg"] = COLOURS[c - 30]
        elif 90 <= c <= 97:
            state["fg"] = BRIGHT[c - 90]
        elif c == 39:
            state["fg"] = None
        elif 40 <= c <= 47:
            state["bg"] = COLOURS[c - 40]
        elif c == 49:
            state["bg"] = None
        elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
            n = codes[i + 2]
            colour = COLOURS[n] if n < 8 else BRIGHT[n - 8] if n < 16 else None
            state["fg" if c == 38 else "bg"] = colour
            i += 2
        elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
            r, g, b = codes[i + 2 : i + 5]
            state["fg" if c == 38 else "bg"] = f"rgb({r},{g},{b})"
            i += 4
        i += 1


def main():
    state = dict(fg=None, bg=None, bold=False, dim=False, reverse=False)
    out = []
    for line in sys.stdin.read().rstrip("\n").split("\n"):
        parts = re.split(r"\x1b\[([0-9;]*)m", line)
        row = []
        for n, part in enumerate(parts):
            if n % 2:
                apply(part, state)
            elif part:
                css = style(state)
                text = html.escape(part)
                row.append(f'<span style="{css}">{text}</span>' if css else text)
        out.append("".join(row))
    print(
        "<!doctype html><html><head><meta charset=utf-8><style>"
        "body{margin:0;background:#0f1420}"
        "pre{margin:0;padding:14px 16px;color:#d0d4dc;background:#0f1420;"
        "font:14px/1.3 'DejaVu Sans Mono',ui-monospace,monospace;white-space:pre}"
        "</style></head><body><pre>" + "\n".join(out) + "</pre></body></html>"
    )


if __name__ == "__main__":
    main()
