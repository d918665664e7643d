"""Experiments that last and scale out: the run store, executors and hyperparameter sweeps.

UI-free (never imports Streamlit), and nnlib never imports it. The modules:

* :mod:`experiments.store`: :class:`~experiments.store.RunStore`, every run and sweep in SQLite (WAL) under
  ``MNIST_LAB_HOME`` with the models beside it; its records (:mod:`experiments.records`) and
  the owners of runs in flight (:mod:`experiments.owners`).
* :mod:`experiments.jobs`: :class:`~experiments.jobs.JobRegistry`, the server-wide fair queue that caps how
  many training tasks run at once, and :class:`~experiments.jobs.TrainingJob`, one job's live state.
* :mod:`experiments.executors`: where a task trains: ``local`` child processes
  (:mod:`experiments.child`) or ``ray`` tasks.
* :mod:`experiments.tasks`: :func:`~experiments.tasks.training_task`, one network trained by
  an executor and recorded in the store as it goes.
* :mod:`experiments.space`: :class:`~experiments.space.SearchSpace` and
  :class:`~experiments.space.Param`, the hyperparameter ranges as data; the presets.
* :mod:`experiments.sweep`: :class:`~experiments.sweep.SweepSettings` and
  :class:`~experiments.sweep.Sweep` (Optuna's samplers and pruners, trials through the
  registry and the executor); :mod:`experiments.sweep_report`: snapshots for a page,
  summaries, importances.
* ``python -m experiments sweep|runs``: the same from a terminal (:mod:`experiments.cli`).
"""
