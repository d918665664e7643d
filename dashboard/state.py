"""Every session-state key of the app, in one place.

Pages and helpers use these names instead of string literals, so a key is spelled
once and a search finds every reader and writer. Add new keys at the end.
"""

# The dataset picked in the sidebar (a name from nnlib.data.available_datasets or UPLOADED_LABEL).
DATASET_NAME = "dataset_name"
# The bytes and file name of a CSV or .npz the user uploaded: {"name": str, "bytes": bytes}.
UPLOADED_DATASET = "uploaded_dataset"
# The nnlib.preprocessing.PreprocessConfig built on the Preprocess page and used by Train.
PREPROCESS_CONFIG = "preprocess_config"
# Runs trained or uploaded in this session (list of dashboard.runs.RunRecord, oldest first), with
# what the run store does not keep (validation probabilities, per-class accuracy of every epoch).
# The pages list the store's runs; this list only adds detail (and is all there is without a store).
RUNS = "runs"
# Id of the run whose model the Predict page uses (None: a bundled model). Shared by the Train
# page's "Use this run on the Predict page", the Runs page's "Make active" and Predict's picker.
ACTIVE_RUN_ID = "active_run_id"
# Id of this session's training job in the job registry.
JOB_ID = "train_job_id"
# Why the job of a ?job= link is no longer on the server.
JOB_GONE_NOTE = "train_job_gone_note"
# The last uploaded dataset that was refused: its digest and the message (not parsed again).
REFUSED_UPLOAD = "refused_upload"
# The upload widget's current file and its SHA-256: (file_id, hex digest), worked out once per file.
UPLOAD_DIGEST = "upload_digest"

# Widget keys of the shared sidebar.
SIDEBAR_DATASET_WIDGET = "sidebar_dataset"
SIDEBAR_UPLOAD_WIDGET = "sidebar_upload"

# Widget keys of the Explore page.
EXPLORE_SAMPLE_MODE = "explore_sample_mode"
EXPLORE_SAMPLE_CLASS = "explore_sample_class"
EXPLORE_SAMPLE_COUNT = "explore_sample_count"
EXPLORE_SAMPLE_SEED = "explore_sample_seed"
EXPLORE_ENLARGED = "explore_enlarged"
EXPLORE_MAP_POINTS = "explore_map_points"
EXPLORE_MAP_CHART = "explore_map_chart"
EXPLORE_MEAN_MAP = "explore_mean_map"
EXPLORE_SPREAD_MAP = "explore_spread_map"

# Widget keys of the Preprocess page (they feed PREPROCESS_CONFIG).
PREPROCESS_TRAIN_SIZE = "preprocess_train_size"
PREPROCESS_SEED = "preprocess_seed"
PREPROCESS_TRAIN_SHARE = "preprocess_train_share"
PREPROCESS_SCALING = "preprocess_scaling"
PREPROCESS_AUGMENT_ON = "preprocess_augment_on"
PREPROCESS_SHIFT = "preprocess_shift"
PREPROCESS_ROTATION = "preprocess_rotation"
PREPROCESS_ZOOM = "preprocess_zoom"
PREPROCESS_NOISE = "preprocess_noise"
PREPROCESS_PREVIEW_INDEX = "preprocess_preview_index"
PREPROCESS_PREVIEW_SEED = "preprocess_preview_seed"

# Train page: this session's owner token in the job registry, runs already taken from jobs,
# and a counter that numbers the runs.
TRAIN_OWNER = "train_owner"
TRAIN_JOB = "train_job"                 # the job shown live (the object: the session holds its results)
TRAIN_NEXT_JOB = "train_next_job"       # this session's second job, waiting behind the first
SESSION_RUNS_NOTE = "session_runs_note"  # which runs the session let go of to stay within its memory share
TRAIN_START_ERROR = "train_start_error" # why the last Start was refused (one running + one queued per user)
TRAIN_HARVESTED = "train_harvested"
TRAIN_RUN_COUNTER = "train_run_counter"
TRAIN_LAST_CM_SELECTION = "train_last_cm_selection"
TRAIN_UPLOAD_DIGEST = "train_upload_digest"
# Widget keys of the Train page.
TRAIN_NETWORK = "train_network"                   # "mlp" or "cnn"
TRAIN_CONV_STAGES = "train_conv_stages"
TRAIN_CONV_FILTERS_PREFIX = "train_conv_filters_"   # + 1..2
TRAIN_LAYER_COUNT = "train_layer_count"
TRAIN_LAYER_WIDTH_PREFIX = "train_layer_width_"   # + 1..5
TRAIN_ACTIVATION = "train_activation"
TRAIN_INIT = "train_init"
TRAIN_OPTIMIZER = "train_optimizer"
TRAIN_LEARNING_RATE = "train_learning_rate"
TRAIN_MOMENTUM = "train_momentum"
TRAIN_BATCH_SIZE = "train_batch_size"
TRAIN_EPOCHS = "train_epochs"
TRAIN_L2 = "train_l2"
TRAIN_DROPOUT = "train_dropout"
TRAIN_BATCH_NORM = "train_batch_norm"
TRAIN_SCHEDULE = "train_schedule"
TRAIN_SEED = "train_seed"
TRAIN_COMPARE_SELECTION = "train_compare_selection"
TRAIN_INSPECT_RUN = "train_inspect_run"
TRAIN_CM_CHART = "train_cm_chart"
TRAIN_CM_TRUE = "train_cm_true"
TRAIN_CM_PREDICTED = "train_cm_predicted"
TRAIN_MODEL_UPLOAD = "train_model_upload"
TRAIN_LIVE_CHART = "train_live_chart"
TRAIN_GRADIENT_CHART = "train_gradient_chart"        # live layer health: gradient size per layer
TRAIN_DEAD_UNITS_CHART = "train_dead_units_chart"    # live layer health: dead units per layer
# Train page, diagnosing tools: this session's range-test task (id in dashboard.background_tasks).
TRAIN_LR_FINDER_TASK = "train_lr_finder_task"

# Predict page: where the picture comes from, the canvas (its key ends with a number that
# the Clear button increases, which gives a fresh empty canvas), the steps switched on,
# the random test image shown, and the uploaded picture's widget.
PREDICT_SOURCE = "predict_source"
PREDICT_BUNDLED_MODEL = "predict_bundled_model"   # which bundled model answers when no run is active
PREDICT_MODEL_CHOICE = "predict_model_choice"     # the model picker's widget
PREDICT_CANVAS_PREFIX = "predict_canvas_"   # + generation number
PREDICT_CANVAS_GENERATION = "predict_canvas_generation"
PREDICT_STROKE_WIDTH = "predict_stroke_width"
PREDICT_CROP = "predict_crop"
PREDICT_FIT_20 = "predict_fit_20"
PREDICT_CENTER_OF_MASS = "predict_center_of_mass"
PREDICT_RANDOM_INDEX = "predict_random_index"
PREDICT_UPLOAD = "predict_upload"
# Predict page, robustness and fooling (issue 14): the sliders that move the drawing, the FGSM strength.
PREDICT_ROTATE = "predict_rotate"
PREDICT_SHIFT_X = "predict_shift_x"
PREDICT_SHIFT_Y = "predict_shift_y"
PREDICT_SCALE = "predict_scale"
PREDICT_THICKEN = "predict_thicken"
PREDICT_FGSM_EPSILON = "predict_fgsm_epsilon"
# Predict page, teach it your handwriting: the true digit's radio, a one-off message, the fine-tuning task.
PREDICT_TRUE_DIGIT = "predict_true_digit"
PREDICT_TRUE_DIGIT_DRAWING = "predict_true_digit_drawing"   # the drawing the radio was last set for
PREDICT_PERSONAL_FLASH = "predict_personal_flash"
PREDICT_FINETUNE_TASK = "predict_finetune_task"

# Runs page: the filters, the sort, the run being managed (and its edit widgets, whose keys
# end with the run id so that switching runs shows that run's values), the delete
# confirmation, the runs compared and the pair whose confusion matrices are subtracted.
RUNS_FILTER_DATASETS = "runs_filter_datasets"
RUNS_FILTER_ARCHITECTURES = "runs_filter_architectures"
RUNS_FILTER_STATUSES = "runs_filter_statuses"
RUNS_FILTER_TAGS = "runs_filter_tags"
RUNS_MIN_ACCURACY = "runs_min_accuracy"
RUNS_SORT_COLUMN = "runs_sort_column"
RUNS_SORT_DESCENDING = "runs_sort_descending"
RUNS_MANAGED = "runs_managed"
RUNS_NAME_PREFIX = "runs_name_"     # + run id
RUNS_TAGS_PREFIX = "runs_tags_"     # + run id
RUNS_NOTE_PREFIX = "runs_note_"     # + run id
RUNS_CONFIRM_DELETE = "runs_confirm_delete"   # the id of the run whose deletion awaits a yes
RUNS_FLASH = "runs_flash"           # one message for the next run of the page ("Deleted ...")
RUNS_COMPARED = "runs_compared"
RUNS_PAIR_A = "runs_pair_a"
RUNS_PAIR_B = "runs_pair_b"

# Sweep page: this session's sweep (its token in the page's sweep holder, also in the URL as
# ?sweep=), a message from the last Start/Resume press, the past sweep opened, and the
# note of what "load the best into Train" had to round to the Train page's choices.
SWEEP_TOKEN = "sweep_token"
SWEEP_START_ERROR = "sweep_start_error"
SWEEP_OPENED = "sweep_opened"
SWEEP_TRAIN_NOTE = "sweep_train_note"
SWEEP_USE_LOCAL = "sweep_use_local"               # Ray asked for but unusable: run locally instead
# Widget keys of the Sweep page's set-up: one group per searchable hyperparameter (+ its name).
SWEEP_SEARCH_PREFIX = "sweep_search_"             # checkbox: search it
SWEEP_MIN_PREFIX = "sweep_min_"                   # a range's min
SWEEP_MAX_PREFIX = "sweep_max_"                   # a range's max
SWEEP_CHOICES_PREFIX = "sweep_choices_"           # the choices tried
SWEEP_FIXED_PREFIX = "sweep_fixed_"               # the value when not searched
SWEEP_NAME = "sweep_name"
SWEEP_METHOD = "sweep_method"
SWEEP_TRIALS = "sweep_trials"
SWEEP_LIMIT_TIME = "sweep_limit_time"
SWEEP_MINUTES = "sweep_minutes"
SWEEP_GRID_POINTS = "sweep_grid_points"
SWEEP_PARALLEL = "sweep_parallel"
SWEEP_PRUNER = "sweep_pruner"
SWEEP_EPOCHS = "sweep_epochs"
SWEEP_TRAIN_SIZE = "sweep_train_size"
SWEEP_SEED = "sweep_seed"
# Widget and chart keys of the Sweep page's views; each view (this sweep, an opened past one)
# adds its own prefix ("current_", "past_") so that two views never share a key.
SWEEP_PARCOORDS_CHART = "sweep_parcoords_chart"
SWEEP_BEST_CHART = "sweep_best_chart"
SWEEP_IMPORTANCE_CHART = "sweep_importance_chart"
SWEEP_TRIAL_PICK = "sweep_trial_pick"
SWEEP_TRIAL_CHART = "sweep_trial_chart"
# Links that open a setup (dashboard.share_setup): per page, the link parameters last read from
# or written to the URL, so a link is applied once and the user's later changes win.
SHARE_LINK_SEEN = "share_link_seen"
# Inside the network page. The Predict page's picture carried over (float32 (28, 28), 0-1,
# MNIST style, before any model's scaling) and the Predict page's request to open it there
# ({"model": name of the model that answered}), read once by the Inside page.
INSIDE_PREDICT_PICTURE = "inside_predict_picture"
INSIDE_OPEN_REQUEST = "inside_open_request"
# The copy of the model that the Step button trains ({"owner": key, "model": Sequential,
# "history": [...], "last_step": TrainingStep | None}); never the bundled file's model.
INSIDE_STEP_SESSION = "inside_step_session"
# Widget keys of the Inside page.
INSIDE_MODEL_CHOICE = "inside_model_choice"
INSIDE_EXPLAIN_MODE = "inside_explain_mode"
INSIDE_SOURCE = "inside_source"
INSIDE_TEST_INDEX = "inside_test_index"
INSIDE_CONFUSED_CHOICE = "inside_confused_choice"
INSIDE_TRUE_CLASS = "inside_true_class"
INSIDE_LEARNING_RATE = "inside_learning_rate"
INSIDE_UNIT_CHART_PREFIX = "inside_unit_chart_"   # + stage name: its clickable unit strip
INSIDE_PIXEL_CHART_PREFIX = "inside_pixel_chart_"  # + conv stage name: its clickable feature map
INSIDE_CHANNEL_PREFIX = "inside_channel_"    # + conv stage name: the feature map opened
INSIDE_MAP_CHART = "inside_map_chart"
INSIDE_MAP_POINTS = "inside_map_points"
INSIDE_SHOW_MAPS = "inside_show_maps"        # the layer maps are drawn only when asked for
INSIDE_STEP_BUTTON = "inside_step_button"
INSIDE_RESET_BUTTON = "inside_reset_button"
