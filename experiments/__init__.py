"""Experiments that last and scale out: the run store, executors and hyperparameter sweeps.

UI-free (never imports Streamlit), and nnlib never imports it. The modules:

* :mod:`experiments.store`: :class:`RunStore`, every run and sweep in SQLite (WAL) under
  ``MNIST_LAB_HOME`` with the models beside it.
* :mod:`experiments.jobs`: :class:`JobRegistry`, the server-wide fair queue that caps how
  many training tasks run at once, and :class:`TrainingJob`, one job's live state.
* :mod:`experiments.executors`: where a task trains: ``local`` child processes
  (:mod:`experiments.child`) or ``ray`` tasks; :func:`training_task` records it in the store.
* :mod:`experiments.sweep`: :class:`SearchSpace`, :class:`SweepSettings` and :class:`Sweep`
  (Optuna's samplers and pruners, trials through the executor).
* ``python -m experiments sweep|runs``: the same from a terminal (:mod:`experiments.cli`).
"""
