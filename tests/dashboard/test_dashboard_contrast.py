"""Text colours of the stylesheet meet WCAG AA (4.5:1) on their backgrounds, in the light and
the dark scheme."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "src" / "fraisier" / "dashboard" / "static"
       / "style.css").read_text()
# (text, background) pairs the stylesheet puts together.
PAIRS = [("--fg", "--bg"), ("--fg", "--card"), ("--muted", "--bg"), ("--muted", "--card"),
         ("--link", "--card"), ("--link", "--bg"), ("--accent", "--card"),
         ("--accent-fg", "--accent"), ("--ok", "--ok-bg"), ("--bad", "--bad-bg"),
         ("--warn", "--warn-bg"), ("--run", "--run-bg"), ("--fg", "--neutral-bg"),
         ("--bad", "--card"), ("--warn", "--card"), ("--card", "--bad"),
         ("--log-fg", "--log-bg")]


def _scheme(dark: bool) -> dict[str, str]:
    light = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-f]{6})", CSS.split("@media")[0]))
    if not dark:
        return light
    block = CSS[CSS.index("@media (prefers-color-scheme: dark)"):]
    block = block[:block.index("}\n}")]
    return {**light, **dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-f]{6})", block))}


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_of_a_known_pair():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5  # a grey that fails AA


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("text, background", PAIRS)
def test_text_meets_wcag_aa(dark, text, background):
    colours = _scheme(dark)
    ratio = contrast(colours[text], colours[background])
    assert ratio >= 4.5, f"{text} on {background} ({'dark' if dark else 'light'}): {ratio:.2f}"
