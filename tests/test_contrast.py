"""Contrast of what is not text (WCAG 1.4.11): the focus ring and the borders of
form controls reach 3:1 against the backgrounds they sit on, computed from the
colours in app.css."""
import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parent.parent / "webapp" / "static" / "app.css").read_text()


def variables() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", CSS).group(1)
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", root))


def colour(value: str) -> str:
    name = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
    return variables()[name.group(1)] if name else value.strip()


def declarations(selector_part: str, prop: str) -> list[str]:
    """The values of `prop` in every rule that has a selector containing `selector_part`."""
    found = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        if any(selector_part in selector.strip() for selector in selectors.split(",")):
            found += re.findall(rf"(?:^|;)\s*{prop}:\s*([^;]+)", body)
    return found


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    # The audit's measurements of the old colours.
    assert contrast("#9cc0f5", "#ffffff") == pytest.approx(1.86, abs=0.01)
    assert contrast("#a9b3bf", "#ffffff") == pytest.approx(2.12, abs=0.01)


def focus_ring() -> str:
    [outline] = [value for value in declarations(":focus-visible", "outline") if "solid" in value]
    width, style, value = outline.split()
    assert style == "solid" and float(width.removesuffix("px")) >= 2
    return colour(value)


def control_borders() -> list[str]:
    borders = [border for part in ("input[type=text]", "textarea", "button")
               for border in declarations(part, "border") if "solid" in border]
    assert len(borders) >= 3
    return [colour(border.split()[-1]) for border in borders]


@pytest.mark.parametrize("background", ["--paper", "--wash"])
def test_the_focus_ring_stands_out(background):
    assert contrast(focus_ring(), variables()[background]) >= 3


@pytest.mark.parametrize("background", ["--paper", "--wash"])
def test_control_borders_stand_out(background):
    for border in control_borders():
        assert contrast(border, variables()[background]) >= 3, border


def test_a_field_in_error_has_a_border_that_stands_out():
    [border] = declarations("input[aria-invalid=true]", "border-color")
    assert contrast(colour(border), variables()["--paper"]) >= 3
