"""What the layers learned, on the Inside page: the PCA map of every layer side by side, and
the dead and saturated units per layer. The numbers come from the cached layer survey.

The maps are inline SVG whose points are clicked (:func:`dashboard.svg_picker.svg_picker`), not a
Plotly chart: the page waits for no chart script in the browser."""
from __future__ import annotations

import numpy as np
import streamlit as st

from . import inside_charts as charts
from . import inside_text as text
from . import state
from .figures import colour_image, png_bytes, upscale
from .inside_inputs import SurveyData
from .markdown_text import markdown_table
from .svg_picker import pick_index, svg_picker

# Points per panel: the browser draws each as an SVG element (and the page sends each, about 80
# bytes a point and a panel); 250 by default (the class clouds already show), more on request.
MAP_POINTS = (250, 500, 1000, 2000)


@st.cache_resource(max_entries=6, show_spinner=False)
def maps_figure(survey_key: str, points: int, _survey: SurveyData, class_names: tuple[str, ...]) -> str:
    """The layer maps of one survey with ``points`` images per panel, as SVG, drawn once."""
    stages = _survey.survey.stages
    shown = slice(0, points)    # the maps are computed on every surveyed image, drawn with the first ones
    return charts.layer_maps([s.stage.name for s in stages], [s.coords[shown] for s in stages],
                             [s.explained_variance_ratio for s in stages], _survey.survey.labels[shown],
                             _survey.indices[shown], class_names)


def layer_maps(survey: SurveyData, images: np.ndarray, class_names: tuple[str, ...], mode: str, what: str) -> None:
    """Every stage's 2-D map of the surveyed images; a click on a point shows its image.

    Drawn when the user asks (one toggle): the maps are the page's heaviest chart for the browser,
    and the walk through the layers above should not wait for them.
    """
    st.markdown(text.explain("learned", mode))
    if not st.toggle("Show the layer maps", key=state.INSIDE_SHOW_MAPS,
                     help=f"A 2-D map of {len(survey.indices):,} {what} images at every layer, side by side."):
        return
    points = st.select_slider("Images per map", MAP_POINTS, value=MAP_POINTS[0], key=state.INSIDE_MAP_POINTS)
    chart, side = st.columns([6, 1])
    with chart:
        clicked = svg_picker(maps_figure(survey.key, int(points), survey, class_names), key=state.INSIDE_MAP_CHART)
    with side:
        position = pick_index(clicked)
        if 0 <= position < len(survey.indices):
            index = int(survey.indices[position])
            label = int(survey.survey.labels[position])
            predicted = int(survey.survey.predictions[position])
            st.image(png_bytes(upscale(images[index], 4)), output_format="PNG",
                     caption=f"#{index}: label {class_names[label]}, read as {class_names[predicted]}")
        else:
            st.info("Click a point to see its image.")
    st.caption(f"{min(int(points), len(survey.indices)):,} {what} images (a fixed random sample), the same in every "
               f"panel; each panel's axes are the first two principal components of that layer over "
               f"{len(survey.indices):,} images.")


def unit_health(survey: SurveyData, mode: str) -> None:
    """Dead and saturated units per layer, as counts and as a picture of how often each unit is active."""
    st.markdown(text.explain("health", mode))
    stages = [s for s in survey.survey.stages if s.active_fraction is not None]
    if not stages:
        st.info("This network has no hidden layers with an activation.")
        return
    rows = []
    for stage_survey in stages:
        unit_word = "channels" if stage_survey.stage.is_convolution else "units"
        saturable = stage_survey.stage.activation in ("Sigmoid", "Tanh")
        rows.append({"layer": stage_survey.stage.name, "activation": stage_survey.stage.activation,
                     "units": f"{stage_survey.n_units} {unit_word}",
                     "dead": len(stage_survey.dead_units),
                     "saturated": str(len(stage_survey.saturated_units)) if saturable else "n/a (cannot saturate)",
                     "mean share active": f"{100 * float(stage_survey.active_fraction.mean()):.1f}%"})
    st.markdown(markdown_table(rows))
    for stage_survey in stages:
        fractions = stage_survey.active_fraction
        st.image(png_bytes(colour_image(fractions[None, :], "viridis", 0.0, 1.0).repeat(18, axis=0).repeat(
                     max(1, 768 // len(fractions)), axis=1)), output_format="PNG",
                 caption=f"{stage_survey.stage.name}: {len(fractions)} units, left to right")
    st.caption(f"Each unit's share of the {len(survey.indices):,} surveyed images on which it is active (a "
               "convolution channel: anywhere in its map), from dark purple (never: a dead unit) to yellow (always).")
