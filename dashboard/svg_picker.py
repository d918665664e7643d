"""An inline SVG chart whose marks can be clicked: the clicked mark's value comes back to Python.

Explore's 2-D map and Inside's clickable strips and maps were Plotly charts for one reason: a click
on a point had to reach the script. Plotly's browser script is 4.7 MB and takes about 1.2 s to
evaluate, which a page opened straight in a new tab pays before it draws (about 2.5 s more than a
plain page). This component is a few dozen lines of JavaScript run in the page itself (Streamlit's
custom components v2: no iframe, no build step): it shows an SVG drawn in Python and reports the
``data-pick`` attribute of the mark clicked. Areas marked ``data-zoom-area`` (a nested ``<svg>``
with a viewBox) zoom with Ctrl (or ⌘) and the wheel, or a trackpad's pinch (a plain wheel keeps
scrolling the page, as over a Plotly chart), pan by dragging and reset on a double click; marks
keep their size on screen while zooming, so a dense cloud comes apart. Legend entries with
``data-toggle="group"`` hide and show the marks of class ``group``.

The value is the component's *state*: it persists across reruns until another mark is clicked,
as a Plotly selection did. A page test sets it as a click would, with :func:`pick_state`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

PICK = "picked"
# Classes the JavaScript and the SVG share.
PICKED_CLASS = "picked"
HIDDEN_CLASS = "legend-off"

_CSS = f"""
.svg-picker svg {{ display: block; }}
.svg-picker [data-pick] {{ cursor: pointer; }}
.svg-picker [data-pick]:hover {{ stroke: #31333f; stroke-width: 1.5px; }}
.svg-picker .{PICKED_CLASS} {{ stroke: #000; stroke-width: 2px; }}
.svg-picker [data-toggle] {{ cursor: pointer; }}
.svg-picker [data-toggle].{HIDDEN_CLASS} {{ opacity: 0.35; }}
.svg-picker .{HIDDEN_CLASS}-marks {{ display: none; }}
.svg-picker [data-zoom-area] {{ touch-action: none; }}
"""

# The component's whole script: draw the SVG, report clicks (every mark with the same pick is
# outlined), zoom and pan each element marked ``data-zoom-area`` by its viewBox. Streamlit calls it
# again only when the data changes, so a rerun that sends the same picture keeps the reader's zoom
# and hidden groups.
_JS = f"""
export default function ({{ parentElement, data, setStateValue }}) {{
  let root = parentElement.querySelector(".svg-picker");
  if (!root) {{
    root = document.createElement("div");
    root.className = "svg-picker";
    parentElement.appendChild(root);
  }}
  root.innerHTML = data.svg;
  const svg = root.querySelector("svg");
  const areas = [...root.querySelectorAll("[data-zoom-area]")];
  const viewBox = (area) => area.getAttribute("viewBox").split(" ").map(Number);
  areas.forEach((area) => {{ if (!area.dataset.home) area.dataset.home = area.getAttribute("viewBox"); }});
  const zoomTo = (area, box) => {{
    const home = area.dataset.home.split(" ").map(Number);
    area.setAttribute("viewBox", box.join(" "));
    area.style.setProperty("--point-r", (parseFloat(area.dataset.pointSize || "3") * box[2] / home[2]).toString());
  }};
  const areaAt = (event) => areas.find((area) => {{
    const r = area.getBoundingClientRect();
    return event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
  }});
  const onClick = (event) => {{
    const toggle = event.target.closest("[data-toggle]");
    if (toggle) {{
      toggle.classList.toggle("{HIDDEN_CLASS}");
      root.querySelectorAll("[data-pick]." + toggle.dataset.toggle).forEach(
        (mark) => mark.classList.toggle("{HIDDEN_CLASS}-marks", toggle.classList.contains("{HIDDEN_CLASS}")));
      return;
    }}
    const mark = event.target.closest("[data-pick]");
    if (!mark) return;
    root.querySelectorAll(".{PICKED_CLASS}").forEach((m) => m.classList.remove("{PICKED_CLASS}"));
    root.querySelectorAll('[data-pick="' + CSS.escape(mark.dataset.pick) + '"]').forEach((m) => m.classList.add("{PICKED_CLASS}"));
    setStateValue("{PICK}", mark.dataset.pick);
  }};
  const onWheel = (event) => {{
    const area = areaAt(event);
    if (!area || !(event.ctrlKey || event.metaKey)) return;   // a plain wheel scrolls the page
    event.preventDefault();
    const r = area.getBoundingClientRect(), box = viewBox(area), home = area.dataset.home.split(" ").map(Number);
    const fx = (event.clientX - r.left) / r.width, fy = (event.clientY - r.top) / r.height;
    const scale = Math.min(Math.max(event.deltaY > 0 ? 1.25 : 0.8, home[2] / 64 / box[2]), home[2] / box[2]);
    const w = box[2] * scale, h = box[3] * scale;
    zoomTo(area, [box[0] + (box[2] - w) * fx, box[1] + (box[3] - h) * fy, w, h]);
  }};
  let drag = null;
  const onDown = (event) => {{
    const area = areaAt(event);
    if (area && !event.target.closest("[data-pick], [data-toggle]")) drag = [area, event.clientX, event.clientY, viewBox(area)];
  }};
  const onMove = (event) => {{
    if (!drag) return;
    const [area, x, y, box] = drag, r = area.getBoundingClientRect();
    zoomTo(area, [box[0] - (event.clientX - x) * box[2] / r.width, box[1] - (event.clientY - y) * box[3] / r.height,
                  box[2], box[3]]);
  }};
  const onUp = () => {{ drag = null; }};
  const onReset = (event) => {{
    const area = areaAt(event);
    if (area) zoomTo(area, area.dataset.home.split(" ").map(Number));
  }};
  root.addEventListener("click", onClick);
  if (areas.length) {{
    svg.addEventListener("wheel", onWheel, {{ passive: false }});
    svg.addEventListener("pointerdown", onDown);
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
    svg.addEventListener("dblclick", onReset);
  }}
  return () => {{
    root.removeEventListener("click", onClick);
    svg.removeEventListener("wheel", onWheel);
    svg.removeEventListener("pointerdown", onDown);
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
    svg.removeEventListener("dblclick", onReset);
  }};
}}
"""

_component: Callable[..., Any] | None = None


def _picker() -> Callable[..., Any]:
    """The registered component (registered on first use, once per process)."""
    global _component
    if _component is None:
        _component = st.components.v2.component("mnist_lab_svg_picker", css=_CSS, js=_JS)
    return _component


def _keep(*_: Any) -> None:
    """The state's change callback: nothing to do, the next run reads the value."""


def svg_picker(svg: str, *, key: str) -> str | None:
    """Show ``svg`` and return the ``data-pick`` value of the mark last clicked (None before any)."""
    value = _picker()(key=key, data={"svg": svg}, default={PICK: None}, on_picked_change=_keep).get(PICK)
    return None if value is None else str(value)


def show_svg(svg: str, *, key: str) -> None:
    """Show ``svg`` (with no mark to click) through the component: the browser inserts it as it is,
    where ``st.markdown`` first parses it as Markdown, which for Explore's two maps of 784 squares
    with a tooltip each cost a page opened in a new tab about 0.2 s."""
    svg_picker(svg, key=key)


def picked(key: str) -> str | None:
    """The pick of the chart ``key`` as the script starts (before the chart is drawn again), or None."""
    state = st.session_state.get(key)
    value = state.get(PICK) if hasattr(state, "get") else None   # Streamlit hands back a dict-like view
    return None if value is None else str(value)


def pick_index(pick: str | None) -> int:
    """A pick that names a position (an image, a unit) as that index; -1 for none or anything else."""
    return int(pick) if pick is not None and pick.isdigit() else -1


def pick_state(value: str | None) -> dict[str, str | None]:
    """The component's session state after a click on the mark whose ``data-pick`` is ``value``
    (what a page test assigns to ``st.session_state[key]``)."""
    return {PICK: value}
