"""Inside the network: one digit goes forward layer by layer, the error comes back, and what each layer learned."""
import streamlit as st

from dashboard.page import setup_page

setup_page("Inside the network", "🔬")

from dashboard import inside_text as text  # noqa: E402
from dashboard import state  # noqa: E402
from dashboard.data import current_dataset_or_stop  # noqa: E402
from dashboard.inside_inputs import PREDICT_PICTURE, choose_input, image_set, survey_for  # noqa: E402
from dashboard.inside_models import default_choice, model_choices, predictor_named  # noqa: E402
from dashboard.inside_step_view import learning_section  # noqa: E402
from dashboard.inside_survey_view import layer_maps, unit_health  # noqa: E402
from dashboard.inside_views import forward_section  # noqa: E402
from dashboard.jobs import store_problem  # noqa: E402
from dashboard.models import ModelUnavailable  # noqa: E402
from dashboard.share_setup import open_inside_link, share_inside_link  # noqa: E402
from nnlib.introspect import forward_trace  # noqa: E402

st.title("🔬 Inside the network")
st.markdown("Follow one digit through every layer of a network, with the equation and the nnlib code of each "
            "step; send the error back and watch one step of learning; then see what each layer has learned "
            "from thousands of test images.")

choices = model_choices()
if not choices:
    st.error("No model to look inside: the bundled models are missing and no run has finished yet.")
    st.stop()
dataset = current_dataset_or_stop()
images, _, what = image_set(dataset)
open_inside_link(choices, len(images), what)   # ?model=...&image=<index>: a shared link picks both
request = st.session_state.pop(state.INSIDE_OPEN_REQUEST, None)   # "Look inside" on the Predict page
if request:
    st.session_state[state.INSIDE_SOURCE] = PREDICT_PICTURE
    if request.get("model") in choices:
        st.session_state[state.INSIDE_MODEL_CHOICE] = request["model"]
if st.session_state.get(state.INSIDE_MODEL_CHOICE) not in choices:
    st.session_state[state.INSIDE_MODEL_CHOICE] = default_choice(choices)
if store_problem():
    st.caption(f"Stored runs are not listed: {store_problem()}")

columns = st.columns([3, 2])
name = columns[0].selectbox("Model", choices, key=state.INSIDE_MODEL_CHOICE,
                            help="This session's runs, the bundled MLP and CNN, and the runs kept in the run store.")
mode = columns[1].segmented_control("Text", text.EXPLAIN_MODES, default=text.SIMPLE, key=state.INSIDE_EXPLAIN_MODE)
try:
    predictor = predictor_named(name)
except ModelUnavailable as error:
    st.error(str(error))
    st.stop()
st.caption(f"{predictor.name}: {predictor.model.parameter_count:,} parameters, layers "
           + " → ".join(layer.kind for layer in predictor.model.layers))

if images[0].size != predictor.model.input_size:
    st.error(f"{dataset.name}'s images have {images[0].size} pixels; this model takes {predictor.model.input_size}.")
    st.stop()
survey = survey_for(predictor, dataset)
choice = choose_input(predictor, dataset, survey)
share_inside_link(predictor, choice)
if choice is None:
    st.stop()
st.caption(f"Looking inside with {choice.caption}.")

st.header("Forward, layer by layer")
trace = forward_trace(predictor.model, choice.network_input)
forward_section(predictor, trace, choice, survey, images, mode, what)

st.header("Backward: one step of learning")
learning_section(predictor, choice, mode)

st.header("What the layers learned")
layer_maps(survey, images, predictor.class_names, mode, what)
st.subheader("Dead and saturated units")
unit_health(survey, mode)
