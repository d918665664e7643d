"""What the layers learned, on the Inside page: the PCA map of every layer side by side, and
the dead and saturated units per layer. The numbers come from the cached layer survey."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from . import inside_charts as charts
from . import inside_text as text
from . import state
from .figures import colour_image, png_bytes, upscale
from .inside_inputs import SurveyData
from .inside_views import clicked_points
from .markdown_text import markdown_table

# Points per panel: the browser draws each as an SVG element, and five panels of 1,000 took it a
# second on a busy 2-core machine; 250 by default (the class clouds already show), more on request.
# WebGL (scattergl) was slower at these sizes in headless Chromium's software WebGL (5 x 250
# points: 0.4-0.8 s against 0.1-0.4 s as SVG), so the maps stay SVG and are drawn when asked for.
MAP_POINTS = (250, 500, 1000, 2000)


@st.cache_resource(max_entries=6, show_spinner=False)
def maps_figure(survey_key: str, points: int, _survey: SurveyData, class_names: tuple[str, ...]) -> go.Figure:
    """The layer maps figure of one survey with ``points`` images per panel, built once."""
    stages = _survey.survey.stages
    shown = slice(0, points)    # the maps are computed on every surveyed image, drawn with the first ones
    return charts.layer_maps_figure([s.stage.name for s in stages], [s.coords[shown] for s in stages],
                                    [s.explained_variance_ratio for s in stages], _survey.survey.labels[shown],
                                    class_names)


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
    figure = maps_figure(survey.key, int(points), survey, class_names)
    chart, picked = st.columns([6, 1])
    with chart:
        st.plotly_chart(figure, key=state.INSIDE_MAP_CHART, on_select="rerun", selection_mode="points")
    with picked:
        clicked = clicked_points(state.INSIDE_MAP_CHART)
        if clicked:
            position = int(clicked[0]["customdata"][0])
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
