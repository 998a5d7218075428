"""Accessibility checks in Chromium: axe-core (bundled by ``axe-playwright-python``) over the
whole page for WCAG 2.1 A and AA, and the keyboard: where Tab goes and whether it shows.

Shared by ``test_browser_accessibility.py`` and the page flows that end in a page's main
action (a run finished, two classes trained). Nothing is excepted: every violation fails. What
is checked, and why: docs/accessibility.md.
"""

import io

import numpy as np
from PIL import Image

from harness import save_screenshot, wait_for_app_idle

# WCAG 2.0 and 2.1, levels A and AA: axe's tags for the rules of those success criteria.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}

# The app's own styles (.streamlit/accessibility.css) are in the page: Streamlit adds them a
# moment after the page's first run ends.
STYLED = """() => Array.from(document.querySelectorAll('style'))
    .some(style => style.textContent.includes("CNN Lab's own styles"))"""
PICTURES_DRAWN = """() =>
    Array.from(document.images).every(image => image.complete) &&
    Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
        .every(chart => chart.querySelector('svg, canvas'))"""
CONTENT_HEIGHT = """() => Math.max(document.body.scrollHeight,
    ...Array.from(document.querySelectorAll('[data-testid="stMain"] *'))
        .slice(0, 50).map(e => e.scrollHeight))"""
# What Streamlit has drawn so far: it mounts images and charts only as they come into view.
DRAWN = """() => [document.images.length,
                  document.querySelectorAll('[data-testid="stVegaLiteChart"] svg').length,
                  document.querySelectorAll('[data-testid="stElementContainer"]').length]"""


# Colour arithmetic for the checks below, in the page (WCAG's relative luminance and contrast
# ratio; a colour as [r, g, b, alpha] from any computed CSS colour).
COLOURS = """
    const rgba = colour => {
        const [r, g, b, a = 1] = (colour.match(/[\\d.]+/g) || []).map(Number);
        const scale = colour.startsWith('color(srgb') ? 255 : 1;     // color-mix()'s 0…1
        return [r * scale, g * scale, b * scale, a];
    };
    const channel = v => (v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) +
                                      0.0722 * channel(b);
    const ratio = (a, b) => {
        const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (high + 0.05) / (low + 0.05);
    };
    const over = (colour, alpha, background) =>
        background.map((v, i) => alpha * colour[i] + (1 - alpha) * v);
    const white = [255, 255, 255];
    const behind = element => {             // the colour painted under an element's middle
        const box = element.getBoundingClientRect();
        for (const e of document.elementsFromPoint(box.x + box.width / 2, box.y + box.height / 2)) {
            const [r, g, b, a] = rgba(getComputedStyle(e).backgroundColor);
            if (a > 0) return over([r, g, b], a, white);
        }
        return white;
    };
"""

# axe-core does not judge SVG text or graphics: every chart's text must pass 4.5:1 on what is
# behind it (white, or the heatmap cell it is written on) and every mark 3:1 on white (1.4.3,
# 1.4.11); grid lines are decoration, and a heatmap's cells carry their number as text.
CHART_CONTRAST = "() => {" + COLOURS + """
    const painted = (element, property) => {        // [r, g, b, alpha] or null (not painted)
        const style = getComputedStyle(element);
        const [r, g, b, a] = rgba(style[property]);
        const alpha = a * Number(style[property + 'Opacity']) * Number(style.opacity);
        return style[property] === 'none' || !alpha ? null : [r, g, b, alpha];
    };
    const problems = [];
    for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
        const name = chart.getAttribute('aria-label') || 'a chart';
        const cells = new Set();
        for (const text of chart.querySelectorAll('svg text')) {
            const fill = painted(text, 'fill');
            if (!text.textContent.trim() || !fill) continue;
            const box = text.getBoundingClientRect();
            const cell = document.elementsFromPoint(box.x + box.width / 2, box.y + box.height / 2)
                .find(e => e.closest('.mark-rect.role-mark'));
            const cellFill = cell && painted(cell, 'fill');
            if (cellFill) cells.add(cell);
            const background = cellFill ? over(cellFill, cellFill[3], white) : white;
            const contrast = ratio(over(fill, fill[3], background), background);
            if (contrast < 4.5) problems.push(
                `${name.slice(0, 60)}: text “${text.textContent}” ${contrast.toFixed(2)}:1`);
        }
        const marks = chart.querySelectorAll('.role-mark:not(.mark-text) > :is(path, line), ' +
                                             '.role-legend-symbol path');
        for (const mark of marks) {
            const colour = painted(mark, 'fill') || painted(mark, 'stroke');
            if (cells.has(mark) || !colour) continue;
            const contrast = ratio(over(colour, colour[3], white), white);
            if (contrast < 3) problems.push(`${name.slice(0, 60)}: a ` +
                `${mark.parentElement.getAttribute('class')} mark ${contrast.toFixed(2)}:1`);
        }
    }
    return problems;
}"""

# axe-core skips disabled controls (WCAG exempts them), but a student must still read what a
# greyed-out control says: its text, icons and value must pass 4.5:1 as well.
DISABLED = ('button:disabled, input:disabled, textarea:disabled, [data-disabled="true"], '
            '[aria-disabled="true"], [data-testid="stWidgetLabel"][disabled]')
DISABLED_CONTRAST = "() => {" + COLOURS + f"""
    const problems = [], seen = new Set();
    for (const control of document.querySelectorAll('{DISABLED}')) {{
        for (const e of [control, ...control.querySelectorAll('*')]) {{
            if (seen.has(e)) continue;
            seen.add(e);
            const value = e.matches('input:not([type=checkbox], [type=radio], [type=range], ' +
                                    '[type=file]), textarea') ? e.value : '';
            const text = Array.from(e.childNodes).filter(n => n.nodeType === 3)
                .map(n => n.textContent).join('').trim() || value;
            const shown = e.checkVisibility({{opacityProperty: true, visibilityProperty: true}});
            if (!text || !shown) continue;
            const style = getComputedStyle(e);
            const [r, g, b, a] = rgba(value ? style.webkitTextFillColor : style.color);
            const background = behind(e);
            const contrast = ratio(over([r, g, b], a, background), background);
            if (contrast < 4.5) problems.push(`disabled “${{text.slice(0, 40)}}” ` +
                                              `${{contrast.toFixed(2)}}:1`);
        }}
    }}
    return problems;
}}"""


def page_problems(page, tags=WCAG_21_AA):
    """What is judged on the whole page as it is now: {"violations": axe-core's, of ``tags``;
    "contrast": the problems of charts and disabled controls; "drawn": [images, charts,
    elements] on the page when judged}.

    Streamlit scrolls inside its main container, mounts images and charts only as they come
    into view, and axe leaves the colour contrast of text outside the viewport undecided: the
    viewport is stretched to the content's height (its width, and so the layout, stays) until
    the page stops growing, so that every element is there and judged.
    """
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_function(STYLED, timeout=30_000)
    viewport, seen = page.viewport_size, None
    try:
        for _ in range(30):
            page.set_viewport_size({"width": viewport["width"], "height": max(
                viewport["height"], page.evaluate(CONTENT_HEIGHT))})
            page.wait_for_timeout(400)
            now = (page.evaluate(CONTENT_HEIGHT), page.evaluate(DRAWN))
            if now == seen:
                break
            seen = now
        page.wait_for_function(PICTURES_DRAWN, timeout=60_000)
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags},
                                           "resultTypes": ["violations"]})
        return {"violations": results.response["violations"],
                "contrast": page.evaluate(CHART_CONTRAST) + page.evaluate(DISABLED_CONTRAST),
                "drawn": page.evaluate(DRAWN)}
    finally:
        page.set_viewport_size(viewport)


def describe(violations):
    """Each violation as axe reports it: the rule, its impact, each element and the fix."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — "
                     f"{violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"  element: {' '.join(node['target'])}")
            lines.append(f"    html: {node['html'][:200]}")
            lines.append("    fix: " + node["failureSummary"].replace("\n", "\n         "))
    return "\n".join(lines)


def problems_at(page, where, judged=None):
    """What is wrong on the page as it is now, in words ("" when nothing is); ``judged``
    (a list) gets page_problems()'s answer."""
    found = page_problems(page)
    if judged is not None:
        judged.append(found)
    size = page.viewport_size
    said = describe(found["violations"]) + "".join(f"\n  contrast: {line}"
                                                   for line in found["contrast"])
    return f"— {where} at {size['width']}×{size['height']}:\n{said.strip()}" if said else ""


def assert_accessible(page, where, viewports=(DESKTOP, PHONE), screenshot=None):
    """No WCAG 2.1 A/AA violation on the page at each viewport: the same session resized, what
    it shows kept (then back to its own size); a failure lists every violation with the fix
    axe suggests. ``screenshot``: a name for the page's screenshot at the phone's size."""
    found, own_size = [], page.viewport_size
    for viewport in viewports:
        page.set_viewport_size(viewport)
        wait_for_app_idle(page)
        found.append(problems_at(page, where))
        if screenshot and viewport is PHONE:
            save_screenshot(page, f"{screenshot}-phone")
    page.set_viewport_size(own_size)
    found = [f for f in found if f]
    assert not found, "WCAG 2.1 A/AA violations:\n" + "\n".join(found)


# --- the keyboard --------------------------------------------------------------------------

# The focused element: its name, its kind (tag, role, Streamlit element), whether it can be
# seen (not transparent or hidden, inside the window) and the box around it and its widget (a
# toolbar button sits above its element, a switch's or slider's input is hidden inside it).
FOCUSED = """() => {
    const e = document.activeElement;
    const boxes = [e, e.closest('[data-testid="stElementContainer"]') || e]
        .map(el => el.getBoundingClientRect());
    const x = Math.min(...boxes.map(b => b.left)), y = Math.min(...boxes.map(b => b.top));
    const right = Math.max(...boxes.map(b => b.right));
    const bottom = Math.max(...boxes.map(b => b.bottom));
    const inside = right > 0 && bottom > 0 && x < innerWidth && y < innerHeight;
    return {tag: e.tagName,
            name: (e.getAttribute('aria-label') || e.innerText || '').trim().slice(0, 80),
            kind: [e.tagName, e.getAttribute('role'),
                   (e.closest('[data-testid]') || e).getAttribute('data-testid')].join(' '),
            shown: inside && e.checkVisibility({opacityProperty: true, visibilityProperty: true}),
            box: {x, y, width: right - x, height: bottom - y}};
}"""
FOCUS_CONTRAST = 3.0        # WCAG 2.4.13's "change of contrast" for a focus indicator
MIN_FOCUS_PIXELS = 20       # that many pixels must change by it: the indicator is visible


def luminance(pixels):
    """WCAG relative luminance of an (h, w, 3) uint8 sRGB array."""
    c = pixels.astype(np.float64) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def focus_indicator_pixels(page, box, pad=6):
    """How many pixels in ``box`` (the focused element's widget, plus ``pad`` px) change by a
    contrast of at least 3:1 when focus leaves it: the visible part of its focus indicator.
    Focus then moves on from where it was (Chromium keeps a blurred element as the start of
    the next Tab)."""
    viewport = page.viewport_size
    x, y = max(0, box["x"] - pad), max(0, box["y"] - pad)
    clip = {"x": x, "y": y, "width": min(box["width"] + 2 * pad, viewport["width"] - x),
            "height": min(box["height"] + 2 * pad, viewport["height"] - y)}
    if clip["width"] < 1 or clip["height"] < 1:
        return 0

    def shot():
        page.wait_for_timeout(150)              # focus styles fade in and out
        return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"))

    focused = shot()
    if page.evaluate("() => document.activeElement.getAttribute('role') === 'gridcell'"):
        page.keyboard.press("Escape")        # a data grid draws its focus as the selected cell
    else:
        page.evaluate("() => document.activeElement.blur()")
    unfocused = shot()
    a, b = luminance(focused), luminance(unfocused)
    ratio = (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)
    return int((ratio >= FOCUS_CONTRAST).sum())


def tab_through(page, stop=None, limit=250, indicators=True):
    """Press Tab from the top of the page until focus leaves the page or comes round again,
    ``stop(name)`` is true or ``limit`` presses. Returns the stops in order, each a dict of
    FOCUSED's fields and ``indicator``: the focus indicator's visible pixels, measured on the
    first element of each kind when ``indicators`` (None otherwise)."""
    page.wait_for_function(STYLED, timeout=30_000)
    page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
    stops, kinds = [], set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        page.evaluate("() => document.activeElement.scrollIntoView({block: 'center'})")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "BODY" or (stops and focused["name"] == stops[0]["name"]):
            break
        if not focused["shown"]:                    # e.g. a heading's link, fading in
            page.wait_for_timeout(400)
            focused = page.evaluate(FOCUSED)
        measure = indicators and focused["kind"] not in kinds
        kinds.add(focused["kind"])
        stops.append({**focused, "indicator": focus_indicator_pixels(page, focused["box"])
                      if measure else None})
        if stop is not None and stop(focused["name"]):
            break
    return stops


def keyboard_problems(stops):
    """What is wrong with a walk of ``tab_through``, in words: stops that cannot be seen, and
    kinds of control whose focus does not show."""
    return ([f"focus on an unseen {s['kind']} “{s['name']}”" for s in stops if not s["shown"]]
            + [f"no visible focus on {s['kind']} “{s['name']}” ({s['indicator']} pixels change "
               f"by {FOCUS_CONTRAST}:1)" for s in stops
               if s["indicator"] is not None and s["indicator"] < MIN_FOCUS_PIXELS])
